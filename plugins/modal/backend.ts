import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../src/errors.js';
import type { Quote, QuoteBasis, RemoteJobContext, RemotePoll, RemoteTrainingBackend, SpecIssue, TrainingSpec } from '../../src/plugins/providers.js';
import { modalQuote } from './prices.js';
import { writeDirAtomic } from '../../src/workspace/atomic-write.js';
import type { RestClient } from '../../src/plugin-sdk/http.js';
import type { ModalConfig } from './config.js';

/** What the app's endpoints answer (plugins/modal/app/modal_app.py). */
interface AppStatus {
  job_id: string;
  state: string;
  message?: string;
  step?: number;
  total_steps?: number;
  error_code?: string;
}

interface AppEvent {
  seq: number;
  type: string;
  name?: string;
  step?: number;
  value?: number;
  message?: string;
}

/** Submits TrainingSpecs to the deployed Modal app, reads their progress and brings the PEFT adapter home. */
export class ModalBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly api: RestClient,
    private readonly config: ModalConfig,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

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

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }): Promise<{ remote_id: string }> {
    const { spec, files } = job;
    // A fresh remote id per submit: a retried job is a new run on Modal, never the old folder.
    const remote_id = `${job.job_id}-${randomBytes(3).toString('hex')}`;
    const remoteDir = `/runs/${remote_id}`;
    await this.api.request<AppStatus>('/jobs', {
      method: 'POST',
      action: 'submitting the training job',
      file: files.train,
      // The app answers a repeated job id with the job already there, so a retry is safe.
      json: {
        job_id: remote_id,
        spec: {
          ...spec,
          dataset: { ...spec.dataset, dir: remoteDir, train_path: `${remoteDir}/train.jsonl`, validation_path: files.validation ? `${remoteDir}/validation.jsonl` : undefined },
          model: { ...spec.model, dir: '' },
        },
        train_jsonl: readFileSync(files.train, 'utf8'),
        ...(files.validation ? { validation_jsonl: readFileSync(files.validation, 'utf8') } : {}),
      },
    });
    return { remote_id };
  }

  /** The app's states are the contract's by name; another one is passed on as the app's word (the host reports it). */
  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const id = encodeURIComponent(remoteId);
    const { signal } = ctx; // the host aborts it when it stops following: a poll in flight (a download too) ends there
    const status = await this.api.request<AppStatus>(`/jobs/${id}`, { action: `reading Modal job ${remoteId}`, signal });
    const found = await this.readEvents(remoteId, ctx.state as { last_seq?: number }, signal);
    const poll: RemotePoll = { status: status.state, step: status.step, total_steps: status.total_steps || undefined, message: status.message || undefined, ...found };
    if (status.state === 'succeeded') {
      const adapter_dir = await this.downloadAdapter(ctx.output_dir, remoteId, signal);
      poll.message ??= 'Adapter downloaded.';
      poll.result = { model_ref: `modal:${remoteId}`, adapter_dir, meta: { provider: 'modal', remote_id: remoteId, format: 'peft' } };
    }
    // The trainer's own code (OUT_OF_MEMORY, DATASET_INVALID, …); the host keeps an unknown one as the provider's word.
    if (status.state === 'failed') poll.error_code = status.error_code;
    return poll;
  }

  async cancel(remoteId: string): Promise<void> {
    // The app's cancel is idempotent: an ended job is answered as it is.
    await this.api.request<AppStatus>(`/jobs/${encodeURIComponent(remoteId)}/cancel`, { method: 'POST', action: `cancelling Modal job ${remoteId}` });
  }

  /** Pages through events after the last seq seen (ctx.state.last_seq): metric points, checkpoints and log lines. */
  private async readEvents(remoteId: string, cursor: { last_seq?: number }, signal: AbortSignal | undefined): Promise<Required<Pick<RemotePoll, 'events' | 'metric_points' | 'checkpoints'>>> {
    const found: Required<Pick<RemotePoll, 'events' | 'metric_points' | 'checkpoints'>> = { events: [], metric_points: [], checkpoints: [] };
    for (;;) {
      const after = cursor.last_seq ?? 0;
      const page = await this.api.request<{ data: AppEvent[]; has_more: boolean }>(`/jobs/${encodeURIComponent(remoteId)}/events?after=${after}&limit=500`, {
        action: 'reading job events',
        signal,
      });
      for (const event of page.data) {
        if (event.type === 'metric' && event.name && typeof event.step === 'number' && typeof event.value === 'number') found.metric_points.push({ name: event.name, step: event.step, value: event.value });
        else if (event.type === 'checkpoint' && typeof event.step === 'number') found.checkpoints.push({ step: event.step, model_ref: `modal:${remoteId}/checkpoints/checkpoint-${event.step}` });
        // Status and artifact events repeat what the job's status says.
        else if (event.type !== 'status' && event.type !== 'artifact') found.events.push({ type: `remote_${event.type}`, message: event.message ?? event.type, data: { seq: event.seq } });
        cursor.last_seq = Math.max(cursor.last_seq ?? 0, event.seq);
      }
      if (!page.has_more || page.data.length === 0) return found;
    }
  }

  /** Brings the PEFT adapter into `<job>/output/adapter/` as one atomic folder (kept if already there). */
  private async downloadAdapter(outputDir: string, remote_id: string, signal: AbortSignal | undefined): Promise<string> {
    const target = join(outputDir, 'output', 'adapter');
    if (existsSync(join(target, 'adapter_config.json'))) return target;
    const id = encodeURIComponent(remote_id);
    const { files } = await this.api.request<{ files: Array<{ name: string; bytes: number }> }>(`/jobs/${id}/adapter`, { action: 'listing the adapter files', signal });
    if (!files.some((f) => f.name === 'adapter_config.json') || !files.some((f) => f.name.startsWith('adapter_model.'))) {
      throw new FinetuneError('UPSTREAM_ERROR', `Modal job ${remote_id} finished without a PEFT adapter (files: ${files.map((f) => f.name).join(', ') || 'none'}).`);
    }
    await writeDirAtomic(target, async (dir) => {
      for (const file of files) {
        if (!/^[\w.-]+$/.test(file.name)) throw new FinetuneError('UPSTREAM_ERROR', `Modal returned an adapter file with an unsafe name: ${file.name}`);
        const response = await this.api.send(`/jobs/${id}/adapter/${encodeURIComponent(file.name)}`, { action: `downloading ${file.name}`, signal });
        const bytes = Buffer.from(await response.arrayBuffer());
        if (bytes.length !== file.bytes) throw new FinetuneError('UPSTREAM_ERROR', `Downloaded ${file.name} has ${bytes.length} bytes, Modal listed ${file.bytes}.`);
        writeFileSync(join(dir, file.name), bytes);
      }
    });
    return target;
  }
}
