import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isFinetuneError } from '../../src/errors.js';
import type { Logger } from '../../src/observability/logger.js';
import type { JobHandle, JobSink, SpecIssue, WorkerTrainingBackend, TrainingSpec } from '../../src/plugins/providers.js';
import { writeFileAtomic } from '../../src/workspace/atomic-write.js';
import { convertSplit, locateInSource, writeOpenAIFile, type OpenAIExample } from '../openai/format.js';
import { follow, onPollError } from '../../src/plugins/follow-remote.js';
import { throwOnErrors } from '../openai/prepare.js';
import { mapTogetherStatus, type TogetherCheckpoint, type TogetherEvent, type TogetherFile, type TogetherJob, type TogetherPriceEstimate } from './api.js';
import { createBody, nEvals, togetherIssues, trainingMethod, trainingType } from './body.js';
import type { TogetherConfig } from './config.js';
import type { RestClient } from '../../src/plugin-sdk/http.js';

/** Together's metric keys as our series names. */
const TOGETHER_METRIC_NAMES: Record<string, string> = {
  'train/loss': 'loss',
  'train/learning_rate': 'lr',
  'train/grad_norm': 'grad_norm',
  'train/epoch': 'epoch',
  'eval/loss': 'eval_loss',
};

export interface TogetherJobHandle extends JobHandle {
  detach(): void;
  readonly followed: Promise<void>;
}

interface FollowState {
  remote_id: string;
  events_seen: number;
  /** Highest step reported per metric series. */
  metric_steps?: Record<string, number>;
  checkpoint_steps: number[];
  last_status?: string;
  last_state?: string;
}

interface Prepared {
  train_path: string;
  validation_path?: string;
  train: OpenAIExample[];
}

/** Together's fine-tuning API over fetch: JSONL upload, POST /fine-tunes, polling, cancel, price estimate. */
export class TogetherBackend implements WorkerTrainingBackend {
  constructor(
    private readonly api: RestClient,
    private readonly config: TogetherConfig,
    private readonly logger: Logger,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues = togetherIssues(spec);
    try {
      const train = await convertSplit(spec.dataset.train_path, spec.config.method);
      if (spec.dataset.validation_path && existsSync(spec.dataset.validation_path)) await convertSplit(spec.dataset.validation_path, spec.config.method);
      if (train.length === 0) issues.push({ severity: 'error', code: 'DATASET_INVALID', field: 'dataset_id', message: 'The train split is empty.' });
    } catch (error) {
      if (!isFinetuneError(error)) throw error;
      issues.push({ severity: 'error', code: error.code, field: error.details.field, message: error.message });
    }
    return issues;
  }

  /** Together prices a job from an uploaded file: upload, ask estimate-price, delete the upload. */
  async estimate(spec: TrainingSpec): Promise<Record<string, unknown>> {
    // The upload copies go to a temp folder: an estimate leaves nothing in the workspace.
    const scratch = mkdtempSync(join(tmpdir(), 'ftm-together-estimate-'));
    const prepared = await this.prepare(spec, scratch).catch((error: unknown) => {
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    });
    const uploaded: string[] = [];
    try {
      const training = await this.upload(prepared.train_path, spec.dataset.train_path);
      uploaded.push(training);
      const validation = prepared.validation_path ? await this.upload(prepared.validation_path, spec.dataset.validation_path!) : undefined;
      if (validation) uploaded.push(validation);
      const price = await this.api.request<TogetherPriceEstimate>('/fine-tunes/estimate-price', {
        method: 'POST',
        action: 'estimating the fine-tuning price',
        json: {
          training_file: training,
          ...(validation ? { validation_file: validation } : {}),
          model: spec.config.base_model,
          n_epochs: spec.config.hyperparameters.epochs,
          n_evals: nEvals(spec, validation !== undefined),
          training_method: trainingMethod(spec),
          training_type: trainingType(spec),
        },
      });
      return {
        backend: 'together',
        model: spec.config.base_model,
        examples: prepared.train.length,
        n_epochs: spec.config.hyperparameters.epochs,
        estimated_train_tokens: price.estimated_train_token_count ?? null,
        estimated_eval_tokens: price.estimated_eval_token_count ?? null,
        cost_usd: price.estimated_total_price ?? null,
        currency: 'USD',
        allowed_to_proceed: price.allowed_to_proceed ?? null,
        user_limit_usd: price.user_limit ?? null,
        source: 'Together POST /fine-tunes/estimate-price',
      };
    } finally {
      await this.deleteFiles(uploaded);
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  async start(spec: TrainingSpec, sink: JobSink): Promise<TogetherJobHandle> {
    throwOnErrors(await this.validate(spec));
    const prepared = await this.prepare(spec);
    const uploaded: string[] = [];
    let job: TogetherJob;
    try {
      const training = await this.upload(prepared.train_path, spec.dataset.train_path);
      uploaded.push(training);
      const validation = prepared.validation_path ? await this.upload(prepared.validation_path, spec.dataset.validation_path!) : undefined;
      if (validation) uploaded.push(validation);
      sink.event('files_uploaded', `Uploaded ${prepared.train.length} training examples to Together.`, { training_file: training, validation_file: validation });
      const wandb = { api_key: this.config.wandb_api_key ?? this.env.WANDB_API_KEY, project_name: this.config.wandb_project_name };
      job = await this.api.request<TogetherJob>('/fine-tunes', {
        method: 'POST',
        action: 'creating the fine-tuning job',
        json: createBody(spec, { training, validation }, wandb),
        // No idempotency key: a retried 5xx could start the job twice.
        retryServerErrors: false,
      });
    } catch (failure) {
      await this.deleteFiles(uploaded);
      throw failure;
    }
    const mapped = mapTogetherStatus(job.status);
    const first = mapped === 'running' ? 'running' : 'preparing';
    const state: FollowState = { remote_id: job.id, events_seen: 0, checkpoint_steps: [], last_state: first };
    this.save(spec, state);
    sink.status(first, { remote_id: job.id, message: `Together job ${job.id} created (${job.status}).` });
    sink.event('remote_job_created', `Together job ${job.id} created (${job.status}).`, { remote_id: job.id, remote_status: job.status });
    return this.handle(spec, sink, state);
  }

  async attach(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<TogetherJobHandle> {
    await this.api.request<TogetherJob>(`/fine-tunes/${encodeURIComponent(remoteId)}`, { action: `reading fine-tuning job ${remoteId}` });
    const path = this.statePath(spec);
    const saved = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FollowState) : undefined;
    const state = saved?.remote_id === remoteId ? saved : { remote_id: remoteId, events_seen: 0, checkpoint_steps: [] };
    sink.event('attached', `Following Together job ${remoteId} again.`, { remote_id: remoteId });
    return this.handle(spec, sink, state);
  }

  private handle(spec: TrainingSpec, sink: JobSink, state: FollowState): TogetherJobHandle {
    const id = encodeURIComponent(state.remote_id);
    const follower = follow({
      initialMs: this.config.poll_interval_ms,
      maxMs: this.config.max_poll_interval_ms,
      tick: async () => {
        const job = await this.api.request<TogetherJob>(`/fine-tunes/${id}`, { action: `reading fine-tuning job ${state.remote_id}` });
        const { data: events } = await this.api.request<{ data: TogetherEvent[] }>(`/fine-tunes/${id}/events`, { action: 'listing job events' });
        const { data: checkpoints } = await this.api.request<{ data: TogetherCheckpoint[] }>(`/fine-tunes/${id}/checkpoints`, { action: 'listing job checkpoints' });
        let changed = await this.importMetrics(id, state, sink);
        // Events carry no id: the list is the whole history in order, so the count seen is the cursor.
        for (const event of events.slice(state.events_seen)) {
          changed = true;
          const level = event.level?.includes('error') ? 'remote_error' : event.level?.includes('warn') ? 'remote_warning' : 'remote_event';
          sink.event(level, event.message, {
            remote_type: event.type,
            created_at: event.created_at,
            ...(event.step !== undefined ? { step: event.step } : {}),
            // The ledger reads total_steps from event data: progress shows as step / total_steps.
            ...(event.total_steps ? { total_steps: event.total_steps } : {}),
            ...(event.wandb_url ? { wandb_url: event.wandb_url } : {}),
          });
          if (typeof event.step === 'number' && typeof event.total_steps === 'number' && event.total_steps > 0) {
            sink.metric('progress', event.step, event.step / event.total_steps);
          }
        }
        state.events_seen = Math.max(state.events_seen, events.length);
        for (const checkpoint of [...checkpoints].sort((a, b) => a.step - b.step)) {
          if (state.checkpoint_steps.includes(checkpoint.step)) continue;
          changed = true;
          state.checkpoint_steps.push(checkpoint.step);
          sink.checkpoint({ step: checkpoint.step, path: `together:${checkpoint.path}` });
        }
        const mapped = mapTogetherStatus(job.status);
        if (job.status !== state.last_status) {
          changed = true;
          state.last_status = job.status;
          if (!mapped) sink.event('remote_status_unknown', `Together reports status '${job.status}', which this server does not know; still following.`, { remote_status: job.status });
        }
        if (mapped === 'succeeded' || mapped === 'failed' || mapped === 'cancelled') {
          this.reportEnd(sink, job, mapped, events);
          this.save(spec, state);
          return 'done';
        }
        if (mapped && mapped !== state.last_state) {
          state.last_state = mapped;
          sink.status(mapped, { remote_id: job.id, message: `Together status: ${job.status}` });
        }
        this.save(spec, state);
        return changed ? 'changed' : 'same';
      },
      onError: onPollError('Together', this.logger, sink, () => state.remote_id),
    });
    return {
      remote_id: state.remote_id,
      cancel: async () => {
        const job = await this.api.request<TogetherJob>(`/fine-tunes/${id}`, { action: `reading fine-tuning job ${state.remote_id}` });
        const mapped = mapTogetherStatus(job.status);
        // Cancelling an ended (or already stopping) job is a no-op: cancel stays idempotent.
        if (mapped === 'succeeded' || mapped === 'failed' || mapped === 'cancelled' || job.status === 'cancel_requested') return;
        await this.api.request<TogetherJob>(`/fine-tunes/${id}/cancel`, { method: 'POST', action: `cancelling fine-tuning job ${state.remote_id}` });
        sink.event('cancel_requested', `Asked Together to cancel job ${state.remote_id}.`);
        follower.nudge();
      },
      detach: () => follower.stop(),
      followed: follower.finished,
    };
  }

  /** GET /fine-tunes/{id}/metrics: `train/*` and `eval/*` snapshots in time order, from the last step seen. */
  private async importMetrics(id: string, state: FollowState, sink: JobSink): Promise<boolean> {
    state.metric_steps ??= {};
    const from = Math.min(...Object.values(state.metric_steps), Number.MAX_SAFE_INTEGER);
    const query = Object.keys(state.metric_steps).length ? `?global_step_from=${from}` : '';
    const { metrics = [] } = await this.api.request<{ metrics?: Array<Record<string, number>> }>(`/fine-tunes/${id}/metrics${query}`, { action: 'reading job metrics' });
    let changed = false;
    for (const snapshot of metrics) {
      for (const [prefix, stepKey] of [['train/', 'train/global_step'], ['eval/', 'eval/global_step']] as const) {
        const step = snapshot[stepKey];
        if (typeof step !== 'number') continue;
        for (const [key, value] of Object.entries(snapshot)) {
          const name = key.startsWith(prefix) && Object.hasOwn(TOGETHER_METRIC_NAMES, key) ? TOGETHER_METRIC_NAMES[key] : undefined;
          if (!name || typeof value !== 'number' || step <= (state.metric_steps[name] ?? -1)) continue;
          state.metric_steps[name] = step;
          sink.metric(name, step, value);
          changed = true;
        }
      }
    }
    return changed;
  }

  private reportEnd(sink: JobSink, job: TogetherJob, state: 'succeeded' | 'failed' | 'cancelled', events: TogetherEvent[]): void {
    if (state === 'succeeded') {
      if (job.model_output_name) {
        sink.artifact({
          kind: 'remote_model',
          uri: `together:${job.model_output_name}`,
          meta: { provider: 'together', model: job.model_output_name, base_model: job.model, token_count: job.token_count, total_price: job.total_price },
        });
      }
      sink.status('succeeded', { remote_id: job.id, message: `Fine-tuned model ${job.model_output_name ?? '(none reported)'}.` });
    } else if (state === 'failed') {
      const last = [...events].reverse().find((e) => e.type === 'job_error' || e.level?.includes('error'));
      const message = last?.message ?? 'no error event';
      const code = job.status === 'user_error' || /file|dataset|jsonl|format|line/i.test(message) ? 'DATASET_INVALID' : /billing|credit|limit/i.test(message) ? 'QUOTA_EXCEEDED' : 'UPSTREAM_ERROR';
      sink.status('failed', { remote_id: job.id, error_code: code, message: `Together job ${job.id} ended with '${job.status}': ${message}` });
    } else {
      sink.status('cancelled', { remote_id: job.id, message: `Together job ${job.id} was cancelled.` });
    }
  }

  private async prepare(spec: TrainingSpec, dir = join(spec.output_dir, 'together')): Promise<Prepared> {
    const train_path = join(dir, 'train.jsonl');
    const train = await writeOpenAIFile(spec.dataset.train_path, train_path, spec.config.method);
    let validation_path: string | undefined;
    if (spec.dataset.validation_path && existsSync(spec.dataset.validation_path)) {
      validation_path = join(dir, 'validation.jsonl');
      if ((await writeOpenAIFile(spec.dataset.validation_path, validation_path, spec.config.method)).length === 0) validation_path = undefined;
    }
    return { train_path, validation_path, train };
  }

  private async upload(path: string, sourcePath: string): Promise<string> {
    const form = new FormData();
    form.set('purpose', 'fine-tune');
    form.set('file_name', basename(path));
    form.set('file_type', 'jsonl');
    form.set('file', new Blob([readFileSync(path)], { type: 'application/jsonl' }), basename(path));
    try {
      const file = await this.api.request<TogetherFile>('/files/upload', { method: 'POST', form, action: 'uploading a fine-tuning file', file: path });
      return file.id;
    } catch (error) {
      throw locateInSource(error, path, sourcePath);
    }
  }

  private async deleteFiles(ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.api
        .request(`/files/${encodeURIComponent(id)}`, { method: 'DELETE', action: `deleting file ${id}` })
        .catch((error: unknown) => this.logger.warn({ err: error, file_id: id }, 'could not delete an uploaded Together file'));
    }
  }

  private statePath(spec: TrainingSpec): string {
    return join(spec.output_dir, 'together', 'remote.json');
  }

  private save(spec: TrainingSpec, state: FollowState): void {
    writeFileAtomic(this.statePath(spec), `${JSON.stringify(state, null, 2)}\n`);
  }
}
