import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, FinetuneError, type ErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/observability/logger.js';
import type { JobHandle, JobSink, Quote, QuoteBasis, SpecIssue, WorkerTrainingBackend, TrainingSpec } from '../../src/plugins/providers.js';
import { modalQuote } from './prices.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/workspace/atomic-write.js';
import { follow, onPollError } from '../../src/plugins/follow-remote.js';
import { throwOnErrors } from '../openai/prepare.js';
import type { RestClient } from '../../src/plugin-sdk/http.js';
import type { ModalConfig } from './config.js';

/** What the app's endpoints answer (plugins/modal/app/modal_app.py). */
interface RemoteStatus {
  job_id: string;
  state: string;
  message?: string;
  step?: number;
  total_steps?: number;
  error_code?: string;
}

interface RemoteEvent {
  seq: number;
  type: string;
  name?: string;
  step?: number;
  value?: number;
  path?: string;
  state?: string;
  message?: string;
}

interface FollowState {
  remote_id: string;
  last_seq: number;
  last_state?: string;
  /** The app's own state last seen, so an unknown one is reported once. */
  last_remote_state?: string;
  total_steps?: number;
}

export interface ModalJobHandle extends JobHandle {
  detach(): void;
  readonly followed: Promise<void>;
}

const STATES: Record<string, 'preparing' | 'running' | 'succeeded' | 'failed' | 'cancelled'> = {
  queued: 'preparing',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** Submits TrainingSpecs to the deployed Modal app, follows them and brings the PEFT adapter home. */
export class ModalBackend implements WorkerTrainingBackend {
  constructor(
    private readonly api: RestClient,
    private readonly config: ModalConfig,
    private readonly logger: Logger,
  ) {}

  async quote(_spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    return modalQuote(basis);
  }

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues: SpecIssue[] = [];
    const { approach, backend_options: options } = spec.config;
    if (approach === 'full') {
      issues.push({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'approach', message: 'The Modal trainer runs LoRA or QLoRA; choose one of them (or another backend for full fine-tuning).' });
    }
    const gpu = options.gpu ?? options.device;
    if (typeof gpu === 'string' && gpu !== this.config.gpu) {
      issues.push({
        severity: 'warning',
        code: 'DEVICE_FIXED',
        field: 'backend_options.gpu',
        message: `The deployed app runs on ${this.config.gpu}; redeploy with FINETUNE_MCP_GPU=${gpu} (and set plugins.modal.gpu) to use ${gpu}.`,
      });
    }
    if (!existsSync(spec.dataset.train_path) || readFileSync(spec.dataset.train_path, 'utf8').trim() === '') {
      issues.push({ severity: 'error', code: 'DATASET_INVALID', field: 'dataset_id', message: `The train split ${spec.dataset.train_path} is empty or missing.` });
    }
    if (spec.model.dir === '' && !options.hf_model && !spec.config.base_model.includes('/')) {
      issues.push({
        severity: 'warning',
        code: 'MODEL_UNKNOWN',
        field: 'base_model',
        message: `'${spec.config.base_model}' does not look like a Hugging Face model id; the GPU function downloads the base model by id (set backend_options.hf_model).`,
      });
    }
    return issues;
  }

  async start(spec: TrainingSpec, sink: JobSink): Promise<ModalJobHandle> {
    throwOnErrors(await this.validate(spec));
    // A fresh remote id per start: a retried job is a new run on Modal, never the old folder.
    const remote_id = `${spec.job_id}-${randomBytes(3).toString('hex')}`;
    const remoteDir = `/runs/${remote_id}`;
    const status = await this.api.request<RemoteStatus>('/jobs', {
      method: 'POST',
      action: 'submitting the training job',
      file: spec.dataset.train_path,
      // The app answers a repeated job id with the job already there, so a retry is safe.
      json: {
        job_id: remote_id,
        spec: {
          ...spec,
          dataset: { ...spec.dataset, dir: remoteDir, train_path: `${remoteDir}/train.jsonl`, validation_path: spec.dataset.validation_path ? `${remoteDir}/validation.jsonl` : undefined },
          model: { ...spec.model, dir: '' },
        },
        train_jsonl: readFileSync(spec.dataset.train_path, 'utf8'),
        ...(spec.dataset.validation_path && existsSync(spec.dataset.validation_path) ? { validation_jsonl: readFileSync(spec.dataset.validation_path, 'utf8') } : {}),
      },
    });
    const first = STATES[status.state] === 'running' ? 'running' : 'preparing';
    const state: FollowState = { remote_id, last_seq: 0, last_state: first };
    this.save(spec, state);
    sink.status(first, { remote_id, message: `Modal job ${remote_id} submitted (${status.state}).` });
    return this.handle(spec, sink, state);
  }

  async attach(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<ModalJobHandle> {
    await this.api.request<RemoteStatus>(`/jobs/${encodeURIComponent(remoteId)}`, { action: `reading Modal job ${remoteId}` });
    const path = this.statePath(spec);
    const saved = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FollowState) : undefined;
    sink.event('attached', `Following Modal job ${remoteId} again.`, { remote_id: remoteId });
    return this.handle(spec, sink, saved?.remote_id === remoteId ? saved : { remote_id: remoteId, last_seq: 0 });
  }

  private handle(spec: TrainingSpec, sink: JobSink, state: FollowState): ModalJobHandle {
    const id = encodeURIComponent(state.remote_id);
    const follower = follow({
      initialMs: this.config.poll_interval_ms,
      maxMs: this.config.max_poll_interval_ms,
      tick: async () => {
        const status = await this.api.request<RemoteStatus>(`/jobs/${id}`, { action: `reading Modal job ${state.remote_id}` });
        let changed = await this.importEvents(id, state, sink);
        if (status.total_steps && status.total_steps !== state.total_steps) {
          // The ledger reads total_steps from event data: progress shows as step / total_steps.
          state.total_steps = status.total_steps;
          sink.event('progress', `The trainer plans ${status.total_steps} steps.`, { step: status.step ?? 0, total_steps: status.total_steps });
        }
        const mapped = Object.hasOwn(STATES, status.state) ? STATES[status.state] : undefined;
        const fresh = status.state !== state.last_remote_state;
        state.last_remote_state = status.state;
        if (!mapped) {
          if (fresh) sink.event('remote_status_unknown', `Modal job reports state '${status.state}', which this server does not know; still following.`, { remote_status: status.state });
        } else if (mapped === 'succeeded' || mapped === 'failed' || mapped === 'cancelled') {
          await this.finish(spec, sink, state, status, mapped);
          this.save(spec, state);
          return 'done';
        } else if (mapped !== state.last_state) {
          changed = true;
          state.last_state = mapped;
          sink.status(mapped, { remote_id: state.remote_id, message: status.message || `Modal state: ${status.state}` });
        }
        this.save(spec, state);
        return changed ? 'changed' : 'same';
      },
      onError: onPollError('Modal', this.logger, sink, () => state.remote_id),
    });
    return {
      remote_id: state.remote_id,
      cancel: async () => {
        // The app's cancel is idempotent: an ended job is answered as it is.
        await this.api.request<RemoteStatus>(`/jobs/${id}/cancel`, { method: 'POST', action: `cancelling Modal job ${state.remote_id}` });
        sink.event('cancel_requested', `Asked Modal to cancel job ${state.remote_id}.`);
        follower.nudge();
      },
      detach: () => follower.stop(),
      followed: follower.finished,
    };
  }

  /** Pages through events after the last seq seen: metrics and checkpoints into the sink. */
  private async importEvents(id: string, state: FollowState, sink: JobSink): Promise<boolean> {
    let changed = false;
    for (;;) {
      const page = await this.api.request<{ data: RemoteEvent[]; last_seq: number; has_more: boolean }>(`/jobs/${id}/events?after=${state.last_seq}&limit=500`, {
        action: 'reading job events',
      });
      for (const event of page.data) {
        changed = true;
        if (event.type === 'metric' && event.name && typeof event.step === 'number' && typeof event.value === 'number') sink.metric(event.name, event.step, event.value);
        else if (event.type === 'checkpoint' && typeof event.step === 'number') sink.checkpoint({ step: event.step, path: `modal:${state.remote_id}/checkpoints/checkpoint-${event.step}` });
        else if (event.type !== 'status' && event.type !== 'artifact') sink.event(`remote_${event.type}`, event.message ?? event.type, { seq: event.seq });
        state.last_seq = Math.max(state.last_seq, event.seq);
      }
      if (!page.has_more || page.data.length === 0) return changed;
    }
  }

  private async finish(spec: TrainingSpec, sink: JobSink, state: FollowState, status: RemoteStatus, end: 'succeeded' | 'failed' | 'cancelled'): Promise<void> {
    if (end === 'succeeded') {
      const path = await this.downloadAdapter(spec, state.remote_id);
      sink.artifact({ kind: 'adapter', path, meta: { provider: 'modal', remote_id: state.remote_id, format: 'peft' } });
      sink.status('succeeded', { remote_id: state.remote_id, message: status.message || 'Adapter downloaded.' });
    } else if (end === 'failed') {
      const code: ErrorCode = status.error_code && Object.hasOwn(ERROR_CODES, status.error_code) ? (status.error_code as ErrorCode) : 'UPSTREAM_ERROR';
      sink.status('failed', { remote_id: state.remote_id, error_code: code, message: `Modal job ${state.remote_id} failed: ${status.message ?? 'no message'}` });
    } else {
      sink.status('cancelled', { remote_id: state.remote_id, message: status.message || 'Cancelled.' });
    }
  }

  /** Brings the PEFT adapter into `<job>/output/adapter/` as one atomic folder (kept if already there). */
  private async downloadAdapter(spec: TrainingSpec, remote_id: string): Promise<string> {
    const target = join(spec.output_dir, 'output', 'adapter');
    if (existsSync(join(target, 'adapter_config.json'))) return target;
    const id = encodeURIComponent(remote_id);
    const { files } = await this.api.request<{ files: Array<{ name: string; bytes: number }> }>(`/jobs/${id}/adapter`, { action: 'listing the adapter files' });
    if (!files.some((f) => f.name === 'adapter_config.json') || !files.some((f) => f.name.startsWith('adapter_model.'))) {
      throw new FinetuneError('UPSTREAM_ERROR', `Modal job ${remote_id} finished without a PEFT adapter (files: ${files.map((f) => f.name).join(', ') || 'none'}).`);
    }
    await writeDirAtomic(target, async (dir) => {
      for (const file of files) {
        if (!/^[\w.-]+$/.test(file.name)) throw new FinetuneError('UPSTREAM_ERROR', `Modal returned an adapter file with an unsafe name: ${file.name}`);
        const response = await this.api.send(`/jobs/${id}/adapter/${encodeURIComponent(file.name)}`, { action: `downloading ${file.name}` });
        const bytes = Buffer.from(await response.arrayBuffer());
        if (bytes.length !== file.bytes) throw new FinetuneError('UPSTREAM_ERROR', `Downloaded ${file.name} has ${bytes.length} bytes, Modal listed ${file.bytes}.`);
        writeFileSync(join(dir, file.name), bytes);
      }
    });
    return target;
  }

  private statePath(spec: TrainingSpec): string {
    return join(spec.output_dir, 'modal', 'remote.json');
  }

  private save(spec: TrainingSpec, state: FollowState): void {
    writeFileAtomic(this.statePath(spec), `${JSON.stringify(state, null, 2)}\n`);
  }
}
