import { readFileSync } from 'node:fs';
import {
  completeLines,
  containerSpec,
  FinetuneError,
  foldTrainerLog,
  isFinetuneError,
  outputUriIssue,
  outputMeta,
  trainerPoll,
  type Quote,
  type QuoteBasis,
  type RemoteJobContext,
  type RemotePoll,
  type RemoteTrainingBackend,
  type RestClient,
  type SpecIssue,
  type TrainerCursor,
  type TrainingSpec,
} from '../../src/plugin-sdk/index.js';
import type { RayConfig } from './config.js';
import { packageName, zipFiles } from './package.js';

/** GET /api/jobs/{id}: Ray's JobDetails, the fields this plugin reads. */
interface RayJobDetails {
  submission_id?: string;
  status: string;
  message?: string | null;
  error_type?: string | null;
  driver_exit_code?: number | null;
}

/** Ray's JobStatus → ours. */
export const STATUS: Record<string, string> = { PENDING: 'queued', RUNNING: 'running', SUCCEEDED: 'succeeded', FAILED: 'failed', STOPPED: 'cancelled' };

/** What a poll keeps between polls (ctx.state, persisted by the host): where the log was read up to, and the trainer's last word. */
export interface LogCursor extends TrainerCursor {
  log_offset?: number;
}

/**
 * Runs the container trainer (trainer/) as a Ray job through the dashboard's Jobs REST API:
 * the spec and splits travel as a working_dir package, the job's submission id is ours, and
 * progress comes from the trainer's event lines in the job's logs.
 */
export class RayBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly api: RestClient,
    private readonly config: RayConfig,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

  async quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    const hourly = this.config.usd_per_gpu_hour;
    if (hourly === undefined) return { usd: 0, basis: 'A self-hosted Ray cluster has no list price: set plugins.ray.usd_per_gpu_hour to price plans with your own GPU-hour cost.' };
    return { usd: (basis.seconds / 3600) * hourly * gpuCount(spec.config.backend_options), basis: `GPU-hours × $${hourly} per GPU-hour (plugins.ray.usd_per_gpu_hour, your figure)` };
  }

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues: SpecIssue[] = [];
    const { backend_options: options } = spec.config;
    issues.push(...layoutIssues(options));
    const uri = outputUriIssue(options);
    if (uri) issues.push(uri);
    if (options.gpu_type !== undefined && (typeof options.gpu_type !== 'string' || !/^[\w.-]+$/.test(options.gpu_type))) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.gpu_type', message: `gpu_type must be a Ray accelerator type such as A10G or H100, got ${JSON.stringify(options.gpu_type)}.` });
    }
    if (spec.model.dir === '' && !options.hf_model && !spec.config.base_model.includes('/')) {
      issues.push({
        severity: 'warning',
        code: 'MODEL_UNKNOWN',
        field: 'base_model',
        message: `'${spec.config.base_model}' does not look like a Hugging Face model id; the trainer downloads the base model by id on the cluster (set backend_options.hf_model).`,
      });
    }
    return issues;
  }

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }> {
    await submitToDashboard(this.api, jobSubmission(job, this.config), ctx.signal);
    return { remote_id: job.job_id };
  }

  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const details = await this.api.request<RayJobDetails>(`/api/jobs/${encodeURIComponent(remoteId)}`, { action: `reading Ray job ${remoteId}`, signal: ctx.signal });
    const poll = await readTrainerLogs(this.api, remoteId, ctx.state as LogCursor, ctx.signal);
    return trainerOutcome(poll, STATUS[details.status] ?? details.status, remoteId, ctx.state as LogCursor, this.config, {
      message: details.message || undefined,
      // A runtime env or driver that never started is the config's fault, not the job's.
      error_code: details.error_type === 'JOB_SUPERVISOR_ACTOR_START_FAILURE' || details.error_type === 'RUNTIME_ENV_SETUP_FAILURE' ? 'CONFIG_INVALID' : undefined,
      reason: details.error_type ?? undefined,
    });
  }

  async cancel(remoteId: string, ctx: RemoteJobContext): Promise<void> {
    // Ray answers {stopped: false} for a job that already ended: not an error.
    await this.api.request<{ stopped: boolean }>(`/api/jobs/${encodeURIComponent(remoteId)}/stop`, { method: 'POST', action: `stopping Ray job ${remoteId}`, signal: ctx.signal });
  }
}

/** GPUs for the trainer: backend_options.num_gpus per node × num_nodes, default 1. */
function gpuCount(options: Record<string, unknown>): number {
  const { gpus_per_node, nodes } = jobLayout(options);
  return gpus_per_node * nodes;
}

/** The job's shape: backend_options.num_gpus (per node, default 1; 0 runs on CPU) and num_nodes (default 1). */
export function jobLayout(options: Record<string, unknown>): { gpus_per_node: number; nodes: number } {
  return { gpus_per_node: typeof options.num_gpus === 'number' ? options.num_gpus : 1, nodes: typeof options.num_nodes === 'number' ? options.num_nodes : 1 };
}

/** num_gpus and num_nodes as the launch needs them: whole numbers, and GPUs on every node of a multi-node job. */
function layoutIssues(options: Record<string, unknown>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const { num_gpus: gpus, num_nodes: nodes } = options;
  const whole = (value: unknown, min: number) => typeof value === 'number' && Number.isInteger(value) && value >= min;
  if (gpus !== undefined && !whole(gpus, 0)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.num_gpus', message: `num_gpus (GPUs per node) must be a whole number ≥ 0, got ${JSON.stringify(gpus)}.` });
  }
  if (nodes !== undefined && !whole(nodes, 1)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.num_nodes', message: `num_nodes must be a whole number ≥ 1, got ${JSON.stringify(nodes)}.` });
  } else if (typeof nodes === 'number' && nodes > 1 && gpus === 0) {
    // Ray Train's workers each hold one GPU (ScalingConfig use_gpu): a CPU-only multi-node run has nothing to hold.
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.num_nodes', message: `A ${nodes}-node job runs one Ray Train worker per GPU; set num_gpus to the GPUs per node (≥ 1), not 0.` });
  }
  return issues;
}

/**
 * The driver's command. One node: the trainer itself, which starts one process per GPU under
 * `accelerate launch` when num_gpus > 1 (trainer/ftm_trainer/launch.py). Several nodes: the Ray Train
 * driver (trainer/ray_train.py), which starts one worker per GPU across the cluster; the driver
 * holds no GPU itself.
 */
function entrypoint(config: RayConfig, jobDir: string, options: Record<string, unknown>): { command: string; gpus: number } {
  const { gpus_per_node, nodes } = jobLayout(options);
  const args = `--spec spec.json --job-dir ${shellQuote(jobDir)}`;
  if (nodes === 1) return { command: `${config.trainer_command} ${args}`, gpus: gpus_per_node };
  const accelerator = typeof options.gpu_type === 'string' ? ` --accelerator-type ${shellQuote(options.gpu_type)}` : '';
  return { command: `${config.ray_train_command} ${args} --num-nodes ${nodes} --gpus-per-node ${gpus_per_node}${accelerator}`, gpus: 0 };
}

/** A POSIX shell word: the entrypoint is run by a shell on the cluster. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** What one submission sends: the working_dir package (spec and splits) and the POST /api/jobs/ body. */
export interface JobSubmission {
  name: string;
  zip: Buffer;
  body: { entrypoint: string; submission_id: string; runtime_env: Record<string, unknown>; entrypoint_num_gpus: number; entrypoint_resources?: Record<string, number>; metadata: Record<string, string> };
}

/** The package and the Jobs API body of a job: the same for the Jobs API mode and for a RayJob (kuberay mode). */
export function jobSubmission(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, config: RayConfig): JobSubmission {
  const { job_id, spec, files } = job;
  const jobDir = `${config.storage_dir.replace(/\/$/, '')}/${job_id}`;
  const options = spec.config.backend_options;
  // Paths as the trainer sees them: relative to the working_dir Ray unpacks the package into.
  const remoteSpec = containerSpec(spec, { output_dir: jobDir, dataset_dir: '.', train_path: 'train.jsonl', validation_path: files.validation ? 'validation.jsonl' : null });
  const zip = zipFiles([
    { name: 'spec.json', data: Buffer.from(JSON.stringify(remoteSpec)) },
    { name: 'train.jsonl', data: readFileSync(files.train) },
    ...(files.validation ? [{ name: 'validation.jsonl', data: readFileSync(files.validation) }] : []),
  ]);
  const name = packageName(zip);
  const driver = entrypoint(config, jobDir, options);
  return {
    name,
    zip,
    body: {
      entrypoint: driver.command,
      submission_id: job_id,
      runtime_env: {
        working_dir: `gcs://${name}`,
        ...(config.image_uri ? { image_uri: config.image_uri } : {}),
        env_vars: { PYTHONUNBUFFERED: '1', ...config.env_vars },
      },
      entrypoint_num_gpus: driver.gpus,
      // Ray's accelerator-type resource: a sliver of it pins the driver to a node of that type (Ray Train's workers get it from the driver's flag).
      ...(typeof options.gpu_type === 'string' && driver.gpus > 0 ? { entrypoint_resources: { [`accelerator_type:${options.gpu_type}`]: 0.001 } } : {}),
      metadata: { finetune_mcp_job_id: job_id, base_model: spec.config.base_model },
    },
  };
}

/** Uploads the working_dir package unless the cluster already has it (same bytes, same name). */
export async function uploadPackage(api: RestClient, submission: Pick<JobSubmission, 'name' | 'zip'>, signal: AbortSignal | undefined): Promise<void> {
  const path = `/api/packages/gcs/${submission.name}`;
  try {
    await api.request(path, { action: 'checking for the job package', signal });
    return;
  } catch (error) {
    if (!(error instanceof FinetuneError && error.code === 'NOT_FOUND')) throw error;
  }
  await api.request(path, { method: 'PUT', bytes: submission.zip, action: `uploading the job package (${submission.zip.length} bytes)`, signal });
}

/** Uploads the package and submits the job through a cluster's Jobs API; the submission id is the idempotency key. */
export async function submitToDashboard(api: RestClient, submission: JobSubmission, signal: AbortSignal | undefined): Promise<void> {
  await uploadPackage(api, submission, signal);
  try {
    // A 5xx may be retried, a repeat is answered "already exists".
    await api.request<{ job_id?: string; submission_id?: string }>('/api/jobs/', { method: 'POST', json: submission.body, action: 'submitting the Ray job', signal });
  } catch (error) {
    if (!(isFinetuneError(error) && error.details.status === 400 && /already exists/i.test(error.message))) throw error;
    // A submit retried after its answer was lost: the job is ours, made by the first try.
  }
}

/** The trainer's event lines in a Ray job's logs since the cursor: progress, metrics, checkpoints (the cursor moves on). */
export async function readTrainerLogs(api: RestClient, submissionId: string, cursor: LogCursor, signal: AbortSignal | undefined): Promise<Omit<RemotePoll, 'status'>> {
  const { logs } = await api.request<{ logs?: string }>(`/api/jobs/${encodeURIComponent(submissionId)}/logs`, { action: `reading the logs of Ray job ${submissionId}`, signal });
  const fresh = completeLines(logs ?? '', cursor.log_offset ?? 0);
  cursor.log_offset = fresh.next_offset;
  const { report } = foldTrainerLog(cursor as Record<string, unknown>, fresh.text);
  const { status: _status, ...found } = trainerPoll('', report, cursor, 'ray', (path) => path);
  return found;
}

/** A poll's end: the adapter on success, the trainer's own code (else the cluster's) on failure. */
export function trainerOutcome(
  found: Omit<RemotePoll, 'status'>,
  status: string,
  remoteId: string,
  cursor: LogCursor,
  config: RayConfig,
  cluster: { message?: string; error_code?: string; reason?: string; job_dir_id?: string },
): RemotePoll {
  const poll: RemotePoll = { status, step: cursor.step, total_steps: cursor.total_steps, message: cluster.message, ...found };
  if (status === 'succeeded') {
    const adapter = cursor.adapter_path ?? `${config.storage_dir.replace(/\/$/, '')}/${cluster.job_dir_id ?? remoteId}/output/adapter`;
    // The adapter stays on the cluster's shared storage; the job records where.
    poll.result = { model_ref: `ray:${adapter}`, meta: { provider: 'ray', submission_id: cluster.job_dir_id ?? remoteId, adapter_path: adapter, ...outputMeta(cursor) } };
    poll.message = cursor.trainer_message ?? poll.message;
  }
  if (status === 'failed') {
    // The trainer's own code (OUT_OF_MEMORY, DATASET_INVALID…) when it got to say it; else the cluster's reason.
    poll.error_code = cursor.error_code ?? cluster.error_code;
    poll.message = [cursor.trainer_message, cluster.message].filter(Boolean).join(' — ') || `Ray job ${remoteId} failed (${cluster.reason ?? 'no reason given'}).`;
  }
  return poll;
}
