import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from '../../src/observability/logger.js';
import { FinetuneError, isFinetuneError, type Quote, type QuoteBasis, type RemoteJobContext, type RemotePoll, type RemoteTrainingBackend, type RestClient, type SpecIssue, type TrainingSpec, textMethod } from '../../src/plugin-sdk/index.js';
import { convertSplit, locateInSource, writeOpenAIFile } from '../openai-compatible/fine-tuning/format.js';
import { mapTogetherStatus, type TogetherCheckpoint, type TogetherEvent, type TogetherFile, type TogetherJob, type TogetherPriceEstimate } from './api.js';
import { createBody, nEvals, togetherIssues, trainingMethod, trainingType } from './body.js';
import type { TogetherConfig } from './config.js';

/** Together's metric keys as our series names. */
const TOGETHER_METRIC_NAMES: Record<string, string> = {
  'train/loss': 'loss',
  'train/learning_rate': 'lr',
  'train/grad_norm': 'grad_norm',
  'train/epoch': 'epoch',
  'eval/loss': 'eval_loss',
};

/** What this plugin keeps in the host-persisted ctx.state between polls. */
interface TogetherCursor {
  /** Events carry no id: the list is the whole history in order, so the count seen is the cursor. */
  events_seen?: number;
  /** Highest step seen per metric series: the next metrics request starts at the lowest of them. */
  metric_steps?: Record<string, number>;
}

type Files = { train: string; validation?: string };

/** Together's fine-tuning API over fetch: JSONL upload, POST /fine-tunes, one look per poll, cancel, price quote. The host follows the job. */
export class TogetherBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly api: RestClient,
    private readonly config: TogetherConfig,
    private readonly logger: Logger,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues = togetherIssues(spec);
    try {
      const train = await convertSplit(spec.dataset.train_path, textMethod(spec.config.method, 'together'));
      if (spec.dataset.validation_path && existsSync(spec.dataset.validation_path)) await convertSplit(spec.dataset.validation_path, textMethod(spec.config.method, 'together'));
      if (train.length === 0) issues.push({ severity: 'error', code: 'DATASET_INVALID', field: 'dataset_id', message: 'The train split is empty.' });
    } catch (error) {
      if (!isFinetuneError(error)) throw error;
      issues.push({ severity: 'error', code: error.code, field: error.details.field, message: error.message });
    }
    return issues;
  }

  /**
   * Offline: the host's token count at Together's list price for the model's size. Calibrating: Together
   * prices the job from an uploaded file (from a temp folder: nothing stays in the workspace), then the upload is deleted.
   */
  async quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    if (!basis.calibrate) return listPrice(spec.config.base_model, basis.tokens);
    const scratch = mkdtempSync(join(tmpdir(), 'ftm-together-estimate-'));
    try {
      return await this.withUploads(spec, { train: spec.dataset.train_path, validation: spec.dataset.validation_path }, scratch, async (uploaded) => {
        const price = await this.api.request<TogetherPriceEstimate>('/fine-tunes/estimate-price', {
          method: 'POST',
          action: 'estimating the fine-tuning price',
          json: {
            training_file: uploaded.training,
            ...(uploaded.validation ? { validation_file: uploaded.validation } : {}),
            model: spec.config.base_model,
            n_epochs: spec.config.hyperparameters.epochs,
            n_evals: nEvals(spec, uploaded.validation !== undefined),
            training_method: trainingMethod(spec),
            training_type: trainingType(spec),
          },
        });
        await this.deleteFiles(Object.values(uploaded));
        const limit = price.allowed_to_proceed === false ? `; Together says it may not proceed (user limit $${price.user_limit ?? '?'})` : price.user_limit !== undefined ? `; user limit $${price.user_limit}` : '';
        return {
          usd: price.estimated_total_price ?? 0,
          ...(price.estimated_train_token_count ? { billed_tokens: price.estimated_train_token_count } : {}),
          basis: `Together POST /fine-tunes/estimate-price for ${spec.config.base_model}: ${price.estimated_train_token_count ?? '?'} training and ${price.estimated_eval_token_count ?? 0} eval tokens over ${spec.config.hyperparameters.epochs} epochs${limit}`,
        };
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  async submit(job: { spec: TrainingSpec; files: Files }): Promise<{ remote_id: string }> {
    const { spec } = job;
    const created = await this.withUploads(spec, job.files, join(spec.output_dir, 'together'), (uploaded) => {
      const wandb = { api_key: this.config.wandb_api_key ?? this.env.WANDB_API_KEY, project_name: this.config.wandb_project_name };
      // No idempotency key: a retried 5xx could start the job twice.
      return this.api.request<TogetherJob>('/fine-tunes', { method: 'POST', action: 'creating the fine-tuning job', json: createBody(spec, uploaded, wandb), retryServerErrors: false });
    });
    return { remote_id: created.id };
  }

  async poll(remote_id: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const id = encodeURIComponent(remote_id);
    const cursor = ctx.state as TogetherCursor;
    const { signal } = ctx; // the host aborts it when it stops following: a poll in flight ends there
    const job = await this.api.request<TogetherJob>(`/fine-tunes/${id}`, { action: `reading fine-tuning job ${remote_id}`, signal });
    const { data: events } = await this.api.request<{ data: TogetherEvent[] }>(`/fine-tunes/${id}/events`, { action: 'listing job events', signal });
    const { data: checkpoints } = await this.api.request<{ data: TogetherCheckpoint[] }>(`/fine-tunes/${id}/checkpoints`, { action: 'listing job checkpoints', signal });
    const metric_points = await this.metricPoints(id, cursor, signal);
    const fresh = events.slice(cursor.events_seen ?? 0);
    cursor.events_seen = Math.max(cursor.events_seen ?? 0, events.length);
    const progress = fresh.filter((e) => typeof e.step === 'number' && typeof e.total_steps === 'number' && e.total_steps > 0).at(-1);
    const status = mapTogetherStatus(job.status);
    return {
      status,
      ...(progress ? { step: progress.step, total_steps: progress.total_steps } : {}),
      message: `Together status: ${job.status}`,
      metric_points,
      events: fresh.map((event) => ({
        type: event.level?.includes('error') ? 'remote_error' : event.level?.includes('warn') ? 'remote_warning' : 'remote_event',
        message: event.message,
        data: {
          remote_type: event.type,
          created_at: event.created_at,
          ...(event.step !== undefined ? { step: event.step } : {}),
          ...(event.total_steps ? { total_steps: event.total_steps } : {}),
          ...(event.wandb_url ? { wandb_url: event.wandb_url } : {}),
        },
      })),
      checkpoints: checkpoints.map((c) => ({ step: c.step, model_ref: `together:${c.path}` })),
      ...(status === 'failed' ? failure(job, events) : {}),
      ...(status === 'succeeded' && job.model_output_name
        ? { result: { model_ref: `together:${job.model_output_name}`, meta: { model: job.model_output_name, base_model: job.model, token_count: job.token_count, total_price: job.total_price } } }
        : {}),
    };
  }

  /** Cancelling an ended (or already stopping) job is a no-op, also after a restart. */
  async cancel(remote_id: string): Promise<void> {
    const id = encodeURIComponent(remote_id);
    const job = await this.api.request<TogetherJob>(`/fine-tunes/${id}`, { action: `reading fine-tuning job ${remote_id}` });
    if (['succeeded', 'failed', 'cancelled'].includes(mapTogetherStatus(job.status)) || job.status === 'cancel_requested') return;
    await this.api.request<TogetherJob>(`/fine-tunes/${id}/cancel`, { method: 'POST', action: `cancelling fine-tuning job ${remote_id}` });
  }

  /** GET /fine-tunes/{id}/metrics: `train/*` and `eval/*` snapshots in time order, from the lowest last step seen (the host drops repeats). */
  private async metricPoints(id: string, cursor: TogetherCursor, signal: AbortSignal | undefined): Promise<NonNullable<RemotePoll['metric_points']>> {
    const seen = (cursor.metric_steps ??= {});
    const query = Object.keys(seen).length ? `?global_step_from=${Math.min(...Object.values(seen))}` : '';
    const { metrics = [] } = await this.api.request<{ metrics?: Array<Record<string, number>> }>(`/fine-tunes/${id}/metrics${query}`, { action: 'reading job metrics', signal });
    const points: NonNullable<RemotePoll['metric_points']> = [];
    for (const snapshot of metrics) {
      for (const [prefix, stepKey] of [['train/', 'train/global_step'], ['eval/', 'eval/global_step']] as const) {
        const step = snapshot[stepKey];
        if (typeof step !== 'number') continue;
        for (const [key, value] of Object.entries(snapshot)) {
          const name = key.startsWith(prefix) && Object.hasOwn(TOGETHER_METRIC_NAMES, key) ? TOGETHER_METRIC_NAMES[key] : undefined;
          if (!name || typeof value !== 'number') continue;
          seen[name] = Math.max(seen[name] ?? 0, step);
          points.push({ name, step, value });
        }
      }
    }
    return points;
  }

  /** Converts and uploads the splits into `dir`, runs `use`, and deletes the uploads when it throws (no orphan files at Together). */
  private async withUploads<T>(spec: TrainingSpec, files: Files, dir: string, use: (uploaded: { training: string; validation?: string }) => Promise<T>): Promise<T> {
    const uploaded: string[] = [];
    try {
      const training = await this.upload(files.train, join(dir, 'train.jsonl'), textMethod(spec.config.method, 'together'));
      if (!training) throw new FinetuneError('DATASET_INVALID', 'The train split is empty.', { details: { field: 'dataset_id' } });
      uploaded.push(training);
      const validation = files.validation && existsSync(files.validation) ? await this.upload(files.validation, join(dir, 'validation.jsonl'), textMethod(spec.config.method, 'together')) : undefined;
      if (validation) uploaded.push(validation);
      return await use({ training, ...(validation ? { validation } : {}) });
    } catch (failure) {
      await this.deleteFiles(uploaded);
      throw failure;
    }
  }

  /** Writes the split in Together's (OpenAI's) chat format and uploads it; an empty split uploads nothing. */
  private async upload(source: string, path: string, method: 'sft' | 'dpo'): Promise<string | undefined> {
    if ((await writeOpenAIFile(source, path, method)).length === 0) return undefined;
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file_name', basename(path));
    form.set('file_type', 'jsonl');
    form.set('file', new Blob([readFileSync(path)], { type: 'application/jsonl' }), basename(path));
    try {
      const file = await this.api.request<TogetherFile>('/files/upload', { method: 'POST', form, action: 'uploading a fine-tuning file', file: path });
      return file.id;
    } catch (error) {
      throw locateInSource(error, path, source);
    }
  }

  private async deleteFiles(ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.api
        .request(`/files/${encodeURIComponent(id)}`, { method: 'DELETE', action: `deleting file ${id}` })
        .catch((error: unknown) => this.logger.warn({ err: error, file_id: id }, 'could not delete an uploaded Together file'));
    }
  }
}

/** Why a job failed, from its last error event: the data (DATASET_INVALID), the account (QUOTA_EXCEEDED), or Together (UPSTREAM_ERROR). */
function failure(job: TogetherJob, events: TogetherEvent[]): Pick<RemotePoll, 'error_code' | 'message'> {
  const last = [...events].reverse().find((e) => e.type === 'job_error' || e.level?.includes('error'));
  const message = last?.message ?? 'no error event';
  const error_code = job.status === 'user_error' || /file|dataset|jsonl|format|line/i.test(message) ? 'DATASET_INVALID' : /billing|credit|limit/i.test(message) ? 'QUOTA_EXCEEDED' : 'UPSTREAM_ERROR';
  return { error_code, message: `Together job ${job.id} ended with '${job.status}': ${message}` };
}

/** Together's LoRA fine-tuning list prices, USD per 1M training tokens by model size (together.ai/pricing, 2025). */
const USD_PER_MILLION_TOKENS = [
  { up_to_b: 16, usd: 0.48 },
  { up_to_b: 69, usd: 1.5 },
  { up_to_b: 100, usd: 2.9 },
];

/** The size comes from the model's name (`…-8B-…`); a name without one is priced as the largest. */
function listPrice(model: string, tokens: number): Quote {
  const billions = Number(/(\d+(?:\.\d+)?)B(?![a-z])/i.exec(model)?.[1] ?? Number.NaN);
  const tier = USD_PER_MILLION_TOKENS.find((t) => billions <= t.up_to_b) ?? USD_PER_MILLION_TOKENS.at(-1)!;
  const size = Number.isFinite(billions) ? `${billions}B` : 'size not in the name';
  return { usd: (tokens / 1e6) * tier.usd, basis: `tokens / 1e6 × $${tier.usd} per 1M training tokens (Together list price for '${model}', ${size})` };
}
