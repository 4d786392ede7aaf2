import type { InferenceProvider, LocalModelFiles } from '../plugins/providers.js';
import type { Services } from '../services.js';
import { resolveModel, type ModelRefInput, type ResolvedModel } from './model-ref.js';
import { LOCAL_INFERENCE } from './runners/open.js';

/** A model on an inference provider, as the judges and the data generator call it. */
export interface InferenceBackend {
  inference: InferenceProvider;
  /** The model as the provider takes it. */
  model: string;
  /** For messages, e.g. "local model stories260K (mdl_…)". */
  used: string;
  local_model?: LocalModelFiles;
}

/** A model on this machine (a base model, a job's adapter, a version) on the local engine. */
export async function localBackend(services: Services, ref: ModelRefInput, field: string): Promise<InferenceBackend & { resolved: ResolvedModel }> {
  const resolved = resolveModel(services, ref, field);
  return {
    inference: await services.plugins.get('inference', LOCAL_INFERENCE),
    model: resolved.label,
    used: `local model ${resolved.label}`,
    local_model: { base_dir: resolved.base_dir, adapter_dir: resolved.adapter_dir },
    resolved,
  };
}
