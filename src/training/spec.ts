import { join } from 'node:path';
import type { TrainingSpec } from '../plugins/providers.js';
import { resolveInputs, type InputSources, type TrainingInputs } from './inputs.js';
import type { StoredConfig } from './ledger.js';

/**
 * The frozen config plus resolved inputs and output folder: what a backend receives. A caller that
 * has resolved the inputs already (plan_training) passes them; otherwise they are resolved here.
 */
export async function buildSpec(
  services: InputSources,
  config: StoredConfig,
  job_id: string,
  resume_from?: string | null,
  inputs?: TrainingInputs,
): Promise<TrainingSpec> {
  const { dataset, model } = inputs ?? (await resolveInputs(services, config));
  const { policy: _policy, parent_config_id: _parent, created_at: _created, ...record } = config;
  return {
    job_id,
    home: services.workspace.root,
    config: record,
    output_dir: join(services.workspace.root, 'jobs', job_id),
    dataset: {
      dataset_id: dataset.dataset_id,
      task_type: dataset.task_type,
      dir: dataset.dir,
      train_path: dataset.train_path,
      ...(dataset.validation_path ? { validation_path: dataset.validation_path } : {}),
    },
    model: { model_id: model.model_id, dir: model.dir ?? '', name: model.name },
    ...(resume_from ? { resume_from } : {}),
  };
}
