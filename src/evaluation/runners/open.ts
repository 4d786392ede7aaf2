import type { Services } from '../../services.js';
import type { ResolvedModel } from '../model-ref.js';
import { ModelRunner } from './model-runner.js';

/** The plugin that runs models on this machine (the local engine). */
export const LOCAL_INFERENCE = 'local';

/**
 * The runner of a resolved model, on the inference provider its reference names: `<plugin>:<model>`
 * goes to that plugin, a model on this machine to the local one. A disabled plugin answers
 * PLUGIN_UNAVAILABLE with its reason and fix (the plugin host's refusal).
 */
export async function openRunner(services: Services, model: ResolvedModel): Promise<ModelRunner> {
  if (model.provider) {
    const inference = await services.plugins.get('inference', model.provider.plugin);
    return new ModelRunner(inference, model.provider.plugin, model.provider.model);
  }
  const inference = await services.plugins.get('inference', LOCAL_INFERENCE);
  return new ModelRunner(inference, LOCAL_INFERENCE, model.label, { base_dir: model.base_dir, adapter_dir: model.adapter_dir });
}
