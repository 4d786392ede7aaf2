import { join } from 'node:path';
import { FinetuneError } from '../../src/errors.js';
import type { Services } from '../../src/services.js';
import { configureTraining } from '../../src/training/configure.js';
import { planTraining } from '../../src/training/plan.js';
import { OpenAIBackend } from './backend.js';
import { OPENAI_DEPRECATION_NOTICE } from './models.js';

export interface MigrateInput {
  openai_job_id: string;
  base_model: string;
  backend: string;
  approach?: 'lora' | 'qlora' | 'full';
  template?: string;
  backend_options?: Record<string, unknown>;
  max_cost_usd?: number;
  start?: boolean;
}

export interface MigrateResult {
  openai_job: { id: string; status: string; model: string; fine_tuned_model: string | null; method: 'sft' | 'dpo'; n_epochs: number | null; beta: number | null };
  dataset_id: string;
  validation_dataset_id: string | null;
  rows: number;
  config_id: string;
  plan_id: string;
  verdict: 'go' | 'no_go';
  reasons: string[];
  job_id: string | null;
  parity: { openai_model_uri: string | null; steps: string[] };
  notes: string[];
}

const number = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/**
 * Re-creates an OpenAI fine-tune on an open model: the job's own training (and validation) file
 * is downloaded through the API, prepared as a dataset version, configured with the job's method
 * and epochs on another backend, planned, and (when asked) started. Parity is then measured by
 * evaluating both models on the same held-out rows.
 */
export async function migrateOpenAIFinetune(services: Services, input: MigrateInput): Promise<MigrateResult> {
  if (input.backend === 'openai') {
    throw new FinetuneError('INVALID_INPUT', 'The target backend must not be openai: migration moves the fine-tune to an open model elsewhere.', { details: { field: 'backend' } });
  }
  const openai = await services.plugins.get('training_backend', 'openai');
  if (!(openai instanceof OpenAIBackend)) throw new FinetuneError('PLUGIN_INVALID', "The 'openai' plugin is not the built-in OpenAI backend.");
  const job = await openai.retrieveJob(input.openai_job_id);
  const method = job.method?.type === 'dpo' ? 'dpo' : job.method?.type === 'reinforcement' ? undefined : 'sft';
  if (!method) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `OpenAI job ${job.id} used reinforcement fine-tuning, which has no open-model equivalent here.`, { details: { field: 'openai_job_id' } });
  const hp = (method === 'dpo' ? job.method?.dpo?.hyperparameters : job.method?.supervised?.hyperparameters) ?? job.hyperparameters ?? {};
  const n_epochs = number(hp.n_epochs);
  const beta = number((hp as { beta?: unknown }).beta);

  const folder = join(services.workspace.artifactDir('exports', `openai-${job.id}`));
  const download = async (fileId: string, name: string) => {
    const path = join(folder, name);
    services.workspace.writeFile(path, await openai.downloadFile(fileId));
    return path;
  };
  const trainPath = await download(job.training_file, 'training.jsonl');
  const prepared = await services.datasets.prepare({ path: trainPath, name: `openai ${job.id} training file`, model: job.model });
  let validation_dataset_id: string | null = null;
  if (job.validation_file) {
    const validation = await services.datasets.prepare({ path: await download(job.validation_file, 'validation.jsonl'), name: `openai ${job.id} validation file` });
    validation_dataset_id = validation.record.id;
  }

  const overrides: Record<string, unknown> = { seed: job.seed };
  if (n_epochs !== null) overrides.epochs = n_epochs;
  if (beta !== null) overrides.dpo_beta = beta;
  const configured = await configureTraining(services, {
    base_model: input.base_model,
    dataset_id: prepared.record.id,
    method,
    approach: input.approach ?? 'lora',
    backend: input.backend,
    template: input.template,
    overrides,
    backend_options: input.backend_options,
  });
  const { plan } = await planTraining(services, { config_id: configured.config.config_id, max_cost_usd: input.max_cost_usd });
  const started = input.start !== false && plan.verdict === 'go' ? await services.jobs.start({ plan_id: plan.plan_id }) : undefined;

  const openaiUri = job.fine_tuned_model ? `openai:${job.fine_tuned_model}` : null;
  const heldOut = validation_dataset_id ? `the OpenAI job's validation file (dataset ${validation_dataset_id})` : 'a test split (split_dataset on the new dataset, then train on its train split)';
  return {
    openai_job: { id: job.id, status: job.status, model: job.model, fine_tuned_model: job.fine_tuned_model, method, n_epochs, beta },
    dataset_id: prepared.record.id,
    validation_dataset_id,
    rows: prepared.record.manifest.counts.rows,
    config_id: configured.config.config_id,
    plan_id: plan.plan_id,
    verdict: plan.verdict,
    reasons: plan.reasons,
    job_id: started?.job_id ?? null,
    parity: {
      openai_model_uri: openaiUri,
      steps: [
        `Held-out rows: ${heldOut}.`,
        openaiUri
          ? `Generate with the OpenAI model ${openaiUri} through chat completions (plugins/openai/inference.ts) and with the new model on the same prompts, same max tokens, temperature 0.`
          : `The OpenAI job has no fine-tuned model (status ${job.status}): compare against its base model ${job.model} instead.`,
        'Score both with evaluate_model (exact match / F1 / ROUGE as fits the task) and compare_models; a judge win-rate gives the pairwise verdict.',
        'Parity holds when the open model is within the gate margin of the OpenAI model on those metrics.',
      ],
    },
    notes: [
      OPENAI_DEPRECATION_NOTICE,
      ...configured.notes,
      ...(job.status !== 'succeeded' ? [`The OpenAI job is '${job.status}', not succeeded: its data is reused as it was uploaded.`] : []),
      ...(job.method?.type === undefined ? ['The OpenAI job predates `method`; it is treated as supervised.'] : []),
    ],
  };
}
