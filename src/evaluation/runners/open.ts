import type { Services } from '../../services.js';
import type { ResolvedModel } from '../model-ref.js';
import { LocalRunner } from './local.js';
import { RemoteRunner } from './remote.js';

/** The runner of a resolved model: the local engine, or a remote backend's chat completions. */
export async function openRunner(services: Services, model: ResolvedModel): Promise<LocalRunner | RemoteRunner> {
  return model.remote ? RemoteRunner.open(services, model.remote) : LocalRunner.open(model);
}
