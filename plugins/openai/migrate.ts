import { join } from 'node:path';
import { splitDataset } from '../../src/datasets/split.js';
import { FinetuneError } from '../../src/errors.js';
import { evaluateModel } from '../../src/evaluation/evaluate.js';
import type { ToolContext } from '../../src/server/tool.js';
import { configureTraining } from '../../src/training/configure.js';
import { planTraining } from '../../src/training/plan.js';
import { FineTuningBackend } from '../openai-compatible/fine-tuning/backend.js';
import { OPENAI_DEPRECATION_NOTICE } from './models.js';

interface MigrateInput {
  openai_job_id: string;
  base_model: string;
  backend: string;
  approach?: 'lora' | 'qlora' | 'full';
  template?: string;
  backend_options?: Record<string, unknown>;
  max_cost_usd?: number;
  start?: boolean;
  /** Share of the training file's rows held out as a test split when the job had no validation file (0: train on every row). */
  test_ratio?: number;
  /** Score the OpenAI fine-tuned model on the held-out rows now. */
  measure_openai?: boolean;
  /** At most this many held-out rows are scored. */
  parity_rows?: number;
}

/** Text metrics both models can be scored with (a remote model gives no token log-probabilities). */
const PARITY_METRICS = ['exact_match', 'f1', 'rouge_l', 'chrf'];
const PARITY_MAX_NEW_TOKENS = 256;

interface ParityReport {
  /** The rows neither model is scored off-sample on: where they come from and whether OpenAI trained on them. */
  held_out: { dataset_id: string; split: 'test' | null; rows: number; source: 'openai_validation_file' | 'test_split'; seen_by_openai: boolean } | null;
  metrics: string[];
  max_new_tokens: number;
  /** The OpenAI model's scores on the held-out rows, measured now. */
  openai: { model: string; evaluation_id: string; examples: number; metrics: Record<string, number> } | null;
  /** Arguments of the compare_models call that scores both models on the same rows once the new job has succeeded. */
  compare_models: Record<string, unknown> | null;
  notes: string[];
}

interface MigrateResult {
  openai_job: { id: string; status: string; model: string; fine_tuned_model: string | null; method: 'sft' | 'dpo'; n_epochs: number | null; beta: number | null };
  dataset_id: string;
  validation_dataset_id: string | null;
  rows: number;
  train_rows: number;
  config_id: string;
  plan_id: string;
  verdict: 'go' | 'no_go';
  reasons: string[];
  job_id: string | null;
  parity: ParityReport;
  notes: string[];
}

const number = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/**
 * Re-creates an OpenAI fine-tune on an open model: the job's own training (and validation) file
 * is downloaded through the API, prepared as a dataset version, configured with the job's method
 * and epochs on another backend, planned, and (when asked) started. Held-out rows are kept for
 * parity: the job's validation file (which neither model trains on), else a test split of the
 * training file; the OpenAI model is scored on them now and the compare_models call that scores
 * both on the same rows with the same metrics is returned.
 */
export async function migrateOpenAIFinetune(ctx: ToolContext, input: MigrateInput): Promise<MigrateResult> {
  const { services } = ctx;
  if (input.backend === 'openai') {
    throw new FinetuneError('INVALID_INPUT', 'The target backend must not be openai: migration moves the fine-tune to an open model elsewhere.', { details: { field: 'backend' } });
  }
  const openai = await services.plugins.get('training_backend', 'openai');
  if (!(openai instanceof FineTuningBackend && openai.profile.plugin === 'openai')) throw new FinetuneError('PLUGIN_INVALID', "The 'openai' plugin is not the built-in OpenAI backend.");
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
  let trainDatasetId = prepared.record.id;
  let trainRows = prepared.record.manifest.counts.rows;
  let heldOut: ParityReport['held_out'] = null;
  if (job.validation_file) {
    const validation = await services.datasets.prepare({ path: await download(job.validation_file, 'validation.jsonl'), name: `openai ${job.id} validation file` });
    validation_dataset_id = validation.record.id;
    heldOut = { dataset_id: validation.record.id, split: null, rows: validation.record.manifest.counts.rows, source: 'openai_validation_file', seen_by_openai: false };
  } else if ((input.test_ratio ?? 0.1) > 0) {
    const ratio = input.test_ratio ?? 0.1;
    const split = await splitDataset(services.datasets, { dataset_id: prepared.record.id, train: 1 - ratio, validation: 0, test: ratio, seed: job.seed ?? 42 }, { signal: ctx.signal });
    trainDatasetId = split.record.id;
    trainRows = split.record.manifest.counts.train ?? 0;
    heldOut = { dataset_id: split.record.id, split: 'test', rows: split.record.manifest.counts.test ?? 0, source: 'test_split', seen_by_openai: true };
  }

  const overrides: Record<string, unknown> = { seed: job.seed };
  if (n_epochs !== null) overrides.epochs = n_epochs;
  if (beta !== null) overrides.dpo_beta = beta;
  const configured = await configureTraining(services, {
    base_model: input.base_model,
    dataset_id: trainDatasetId,
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
  const parity = await measureParity(ctx, input, { heldOut, openaiUri, jobId: started?.job_id ?? null, status: job.status, planId: plan.plan_id });
  return {
    openai_job: { id: job.id, status: job.status, model: job.model, fine_tuned_model: job.fine_tuned_model, method, n_epochs, beta },
    dataset_id: trainDatasetId,
    validation_dataset_id,
    rows: prepared.record.manifest.counts.rows,
    train_rows: trainRows,
    config_id: configured.config.config_id,
    plan_id: plan.plan_id,
    verdict: plan.verdict,
    reasons: plan.reasons,
    job_id: started?.job_id ?? null,
    parity,
    notes: [
      OPENAI_DEPRECATION_NOTICE,
      ...configured.notes,
      ...(job.status !== 'succeeded' ? [`The OpenAI job is '${job.status}', not succeeded: its data is reused as it was uploaded.`] : []),
      ...(job.method?.type === undefined ? ['The OpenAI job predates `method`; it is treated as supervised.'] : []),
    ],
  };
}

/** Scores the OpenAI model on the held-out rows and names the compare_models call for both. */
async function measureParity(
  ctx: ToolContext,
  input: MigrateInput,
  facts: { heldOut: ParityReport['held_out']; openaiUri: string | null; jobId: string | null; status: string; planId: string },
): Promise<ParityReport> {
  const { heldOut, openaiUri, jobId } = facts;
  const report: ParityReport = { held_out: heldOut, metrics: PARITY_METRICS, max_new_tokens: PARITY_MAX_NEW_TOKENS, openai: null, compare_models: null, notes: [] };
  if (!heldOut) {
    report.notes.push('No held-out rows (test_ratio 0 and no validation file): parity cannot be measured on rows the new model did not train on.');
    return report;
  }
  if (heldOut.seen_by_openai) {
    report.notes.push('The OpenAI job had no validation file, so its model trained on these test rows too: its scores here are an upper bound.');
  }
  const rows = { dataset_id: heldOut.dataset_id, ...(heldOut.split ? { split: heldOut.split } : {}), max_examples: input.parity_rows ?? 100 };
  if (!openaiUri) report.notes.push(`The OpenAI job has no fine-tuned model (status ${facts.status}): there is nothing to measure parity against.`);
  else if (input.measure_openai === false) report.notes.push('measure_openai is false: the OpenAI model was not scored; compare_models scores both.');
  else {
    const evaluation = await evaluateModel(ctx, { model_id: openaiUri, ...rows, metrics: PARITY_METRICS, max_new_tokens: PARITY_MAX_NEW_TOKENS, batch_size: 8, samples: 0 });
    report.openai = { model: openaiUri, evaluation_id: evaluation.evaluation_id, examples: evaluation.examples, metrics: evaluation.metrics };
  }
  if (openaiUri && jobId) {
    report.compare_models = { models: [{ model_id: openaiUri, label: 'openai' }, { job_id: jobId, label: 'migrated' }], baseline: 'openai', ...rows, metrics: PARITY_METRICS, max_new_tokens: PARITY_MAX_NEW_TOKENS };
  } else if (openaiUri) {
    report.notes.push(`No job was started: start_training {plan_id: "${facts.planId}"}, then compare_models with that job on the same rows.`);
  }
  return report;
}
