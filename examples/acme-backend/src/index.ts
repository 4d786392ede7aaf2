/**
 * acme-backend: a finetune-mcp training backend for the (made-up) Acme Train API, written only
 * against `finetune-mcp/plugin`. The plugin says how to submit, poll and cancel one Acme job;
 * the host does the rest (following, persistence, re-attachment after a restart, events).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import {
  FinetuneError,
  PLUGIN_API_VERSION,
  RestClient,
  definePlugin,
  isFinetuneError,
  z,
  type ErrorCode,
  type Quote,
  type RemotePoll,
  type RemoteTrainingBackend,
  type TrainingSpec,
} from 'finetune-mcp/plugin';

const ConfigSchema = z.object({
  base_url: z.string().url().default('https://api.acme.example'),
  /** Falls back to ACME_API_KEY in the environment. */
  api_key: z.string().min(1).optional(),
  max_retries: z.number().int().min(0).max(10).default(2),
  timeout_ms: z.number().int().positive().default(30_000),
  /** Acme's list price, for quote(). */
  usd_per_million_tokens: z.number().positive().default(2),
});
type AcmeConfig = z.infer<typeof ConfigSchema>;

/** An Acme job as GET /v1/fine-tunes/{id} answers it (README.md, "The Acme Train API"). */
interface AcmeJob {
  id: string;
  status: string;
  step?: number;
  total_steps?: number;
  train_loss?: number;
  fine_tuned_model?: string | null;
  error?: { type: string; message: string } | null;
}

/** Acme's words for a job's state, in ours; anything else is passed through and the host treats it as unknown. */
const STATUSES: Record<string, RemotePoll['status']> = {
  queued: 'queued',
  running: 'running',
  completed: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** Acme's failure types that have a code of their own; the rest are the provider's failure. */
const FAILURE_CODES: Record<string, ErrorCode> = {
  out_of_memory: 'OUT_OF_MEMORY',
  invalid_data: 'DATASET_INVALID',
  diverged: 'TRAINING_DIVERGED',
};

export class AcmeBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms = { initial: 50, max: 1_000 };

  constructor(
    private readonly api: RestClient,
    private readonly config: AcmeConfig,
  ) {}

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }): Promise<{ remote_id: string }> {
    const uploaded: string[] = [];
    try {
      const training_file = await this.upload(job.files.train);
      uploaded.push(training_file);
      const validation_file = job.files.validation ? await this.upload(job.files.validation) : undefined;
      if (validation_file) uploaded.push(validation_file);
      const { hyperparameters, base_model } = job.spec.config;
      const created = await this.api.request<AcmeJob>('/v1/fine-tunes', {
        method: 'POST',
        action: 'creating the fine-tuning job',
        // Creating twice would start two paid jobs: no retry on 5xx.
        retryServerErrors: false,
        json: {
          model: base_model,
          training_file,
          validation_file,
          epochs: hyperparameters.epochs,
          max_steps: hyperparameters.max_steps,
          learning_rate: hyperparameters.learning_rate,
          suffix: job.job_id,
        },
      });
      return { remote_id: created.id };
    } catch (error) {
      // No job was created: leave no uploaded files behind either.
      await Promise.allSettled(uploaded.map((id) => this.api.request(`/v1/files/${id}`, { method: 'DELETE', action: 'deleting an uploaded file' })));
      throw error;
    }
  }

  async poll(remote_id: string): Promise<RemotePoll> {
    const job = await this.api.request<AcmeJob>(`/v1/fine-tunes/${encodeURIComponent(remote_id)}`, { action: `reading job ${remote_id}` });
    const status = STATUSES[job.status] ?? job.status;
    return {
      status,
      ...(job.step !== undefined ? { step: job.step } : {}),
      ...(job.total_steps !== undefined ? { total_steps: job.total_steps } : {}),
      ...(job.train_loss !== undefined ? { metrics: { loss: job.train_loss } } : {}),
      ...(status === 'succeeded' && job.fine_tuned_model ? { result: { model_ref: `acme:${job.fine_tuned_model}` } } : {}),
      ...(status === 'failed'
        ? { error_code: FAILURE_CODES[job.error?.type ?? ''] ?? 'UPSTREAM_ERROR', message: `Acme job ${remote_id} failed: ${job.error?.message ?? 'no reason given'}` }
        : {}),
    };
  }

  async cancel(remote_id: string): Promise<void> {
    try {
      await this.api.request(`/v1/fine-tunes/${encodeURIComponent(remote_id)}/cancel`, { method: 'POST', action: `cancelling job ${remote_id}` });
    } catch (error) {
      // Acme answers 409 for a job that already ended: nothing is left to cancel.
      if (isFinetuneError(error) && error.details.status === 409) return;
      throw error;
    }
  }

  /** Acme bills trained tokens: about one token per 4 bytes of JSONL, times the epochs. */
  async quote(spec: TrainingSpec): Promise<Quote> {
    const tokens = Math.ceil(statSync(spec.dataset.train_path).size / 4) * spec.config.hyperparameters.epochs;
    const usd = (tokens / 1e6) * this.config.usd_per_million_tokens;
    return { usd, basis: `${tokens} tokens (train file bytes ÷ 4 × ${spec.config.hyperparameters.epochs} epochs) at $${this.config.usd_per_million_tokens} per 1M tokens (Acme list price)` };
  }

  private async upload(path: string): Promise<string> {
    const file = await this.api.request<{ id: string }>('/v1/files', {
      method: 'POST',
      action: `uploading ${basename(path)}`,
      file: path,
      json: { purpose: 'fine-tune', filename: basename(path), content: readFileSync(path, 'utf8') },
    });
    return file.id;
  }
}

function apiKey(config: AcmeConfig, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return config.api_key ?? env.ACME_API_KEY;
}

export default definePlugin({
  meta: { name: 'acme', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'Acme Train: LoRA SFT on chat data, on Acme GPUs.' },
  provides: ['training_backend'],
  capabilities: {
    training: {
      methods: ['sft'],
      approaches: ['lora'],
      tasks: { sft: ['chat'] },
      resume: false,
      cancel: true,
      devices: ['acme-a100'],
      remote: true,
      inference: false,
      max_concurrent_jobs: 4,
    },
  },
  configSchema: ConfigSchema,
  probe: (ctx) =>
    apiKey(ctx.config, ctx.env)
      ? { available: true, details: { base_url: ctx.config.base_url } }
      : { available: false, reason: 'No Acme API key.', fix: 'Set ACME_API_KEY, or plugins.acme.api_key in the config file.' },
  create(ctx) {
    const key = apiKey(ctx.config, ctx.env);
    if (!key) throw new FinetuneError('AUTH_INVALID', 'No Acme API key.', { recovery: 'Set ACME_API_KEY, or plugins.acme.api_key in the config file.' });
    const api = new RestClient({
      baseURL: ctx.config.base_url,
      headers: { authorization: `Bearer ${key}` },
      maxRetries: ctx.config.max_retries,
      timeoutMs: ctx.config.timeout_ms,
      provider: 'Acme',
    });
    return { training_backend: new AcmeBackend(api, ctx.config) };
  },
});
