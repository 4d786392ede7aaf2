import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  containerSpec,
  FinetuneError,
  foldTrainerLog,
  hubModelIssue,
  instanceCount,
  instanceCountIssue,
  isFinetuneError,
  outputUriIssue,
  outputMeta,
  quoteInstance,
  trainerPoll,
  unpricedInstanceIssue,
  type PriceTable,
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
import type { AzureMlConfig, AzureMlWorkspace } from './config.js';

/** The four ways this plugin talks to Azure: ARM (management token), blob storage (storage token), run history (Azure ML token), and SAS URLs (no token). */
interface AzureClients {
  arm: RestClient;
  storage: RestClient;
  history: RestClient;
  sas: RestClient;
}

/** Azure ML job status → ours (Microsoft.MachineLearningServices JobStatus). */
const STATUS: Record<string, string> = {
  NotStarted: 'queued',
  Starting: 'queued',
  Provisioning: 'queued',
  Preparing: 'queued',
  Queued: 'queued',
  Running: 'running',
  Finalizing: 'running',
  CancelRequested: 'running',
  Paused: 'running',
  Completed: 'succeeded',
  Failed: 'failed',
  NotResponding: 'failed',
  Canceled: 'cancelled',
};
const ENDED = new Set(['Completed', 'Failed', 'Canceled', 'NotResponding']);
/** The trainer's stdout in the job's run history (Azure ML's command-job log layout); a distributed job has one log per process, rank 0's first. */
const STD_LOG = 'user_logs/std_log.txt';
const RANK_0_LOG = 'user_logs/std_log_process_0.txt';

interface JobResource {
  name?: string;
  properties: { status?: string; properties?: Record<string, string>; tags?: Record<string, string>; computeId?: string; distribution?: { distributionType?: string } | null };
}

interface Datastore {
  properties: { accountName: string; containerName: string; endpoint?: string; protocol?: string };
}

/** ctx.state: the trainer's cursor, and how many bytes of std_log.txt were read. */
interface AzureCursor extends TrainerCursor {
  log_bytes?: number;
}

/**
 * Runs the container trainer (trainer/) as an Azure ML command job on a compute cluster: the spec
 * and splits are uploaded to the workspace's blob datastore (Put Blob, Entra ID token), the job
 * (named from our job id, so a retried create finds its own job) mounts them as an input and writes
 * checkpoints and the adapter to a mounted output, and progress comes from the trainer's event
 * lines in the job's user_logs/std_log.txt, read through the run history artifact API.
 */
export class AzureMlBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };
  private region?: string;

  constructor(
    private readonly azure: AzureClients,
    private readonly where: AzureMlWorkspace,
    private readonly config: AzureMlConfig,
    private readonly prices: PriceTable,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

  async quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    return quoteInstance(this.prices, basis, this.vmSize(spec), instanceCount(spec.config.backend_options));
  }

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues: SpecIssue[] = [];
    const options = spec.config.backend_options;
    if (options.compute !== undefined && (typeof options.compute !== 'string' || !/^[a-zA-Z][\w-]{1,31}$/.test(options.compute))) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.compute', message: `compute must name a compute cluster of the workspace (letters, digits, - and _), got ${JSON.stringify(options.compute)}.` });
    }
    const size = this.vmSize(spec);
    if (options.instance_type !== undefined && typeof options.instance_type !== 'string') {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.instance_type', message: `instance_type must be the cluster's VM size, such as Standard_NC24ads_A100_v4, got ${JSON.stringify(options.instance_type)}.` });
    } else if (!size) {
      issues.push({ severity: 'warning', code: 'CONFIG_INVALID', field: 'backend_options.instance_type', message: `The VM size of compute cluster '${this.compute(spec)}' is not given (backend_options.instance_type or plugins.azureml.vm_size): the plan is sized for the device it recommends, not for the cluster.` });
    } else {
      const unpriced = unpricedInstanceIssue(this.prices, size);
      if (unpriced) issues.push(unpriced);
    }
    const uri = outputUriIssue(options);
    if (uri) issues.push(uri);
    issues.push(...[instanceCountIssue(options), processCountIssue(options)].filter((issue): issue is SpecIssue => !!issue));
    const model = hubModelIssue(spec, 'the Azure ML compute');
    if (model) issues.push(model);
    return issues;
  }

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }> {
    const { job_id, spec, files } = job;
    const { signal } = ctx;
    const name = job_id;
    // A job of this name already there: ours (a retried submit) is re-attached, another's is a conflict.
    if (await this.existingJob(name, job_id, signal)) return { remote_id: name };
    const folder = `${this.config.path_prefix.replace(/^\/+/, '')}${job_id}`;
    // The trainer runs in the mounted input folder, so the spec's relative paths resolve there.
    const remoteSpec = containerSpec(spec, { output_dir: '.', dataset_dir: '.', train_path: 'train.jsonl', validation_path: files.validation ? 'validation.jsonl' : null });
    await this.upload(`${folder}/input/spec.json`, Buffer.from(JSON.stringify(remoteSpec)), signal);
    await this.upload(`${folder}/input/train.jsonl`, readFileSync(files.train), signal);
    if (files.validation) await this.upload(`${folder}/input/validation.jsonl`, readFileSync(files.validation), signal);
    const body = {
      properties: {
        jobType: 'Command',
        displayName: `finetune-mcp ${job_id}`,
        experimentName: this.config.experiment_name,
        description: `finetune-mcp job ${job_id}: ${spec.config.method} ${spec.config.approach} of ${spec.config.base_model}`,
        tags: { 'finetune-mcp:job-id': job_id },
        properties: { finetune_mcp_job_id: job_id },
        computeId: `${this.where.path}/computes/${encodeURIComponent(this.compute(spec))}`,
        environmentId: await this.environmentId(signal),
        command: `cd \${{inputs.job}} && ${this.config.trainer_command} --spec spec.json --job-dir \${{outputs.job_dir}}`,
        environmentVariables: { PYTHONUNBUFFERED: '1', ...this.config.env_vars },
        inputs: { job: { jobInputType: 'uri_folder', uri: this.datastoreUri(`${folder}/input/`), mode: 'ReadOnlyMount' } },
        outputs: { job_dir: { jobOutputType: 'uri_folder', uri: this.datastoreUri(`${folder}/job/`), mode: 'ReadWriteMount' } },
        ...distribution(spec, this.prices.instances.find((i) => i.instance === this.vmSize(spec))?.gpus),
        limits: { jobLimitsType: 'Command', timeout: `PT${this.config.max_runtime_s}S` },
      },
    };
    try {
      await this.azure.arm.request(this.jobPath(name), { method: 'PUT', json: body, action: `creating Azure ML job ${name}`, signal, retryServerErrors: false });
    } catch (error) {
      // The answer was lost after the job was made (a 5xx, a cut connection, a 409 for the name): the job may be there, and ours.
      if (!(isFinetuneError(error) && error.code === 'UPSTREAM_ERROR')) throw error;
      if (!(await this.existingJob(name, job_id, signal))) throw error;
    }
    return { remote_id: name };
  }

  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const job = await this.azure.arm.request<JobResource>(this.jobPath(remoteId), { action: `reading Azure ML job ${remoteId}`, signal: ctx.signal });
    const cursor = ctx.state as AzureCursor;
    // Only rank 0 writes event lines: a distributed job's are in rank 0's log.
    const text = await this.readLog(remoteId, job.properties.distribution ? RANK_0_LOG : STD_LOG, cursor, ctx.signal);
    const { report } = foldTrainerLog(ctx.state, text);
    const azureStatus = job.properties.status ?? 'Unknown';
    const status = STATUS[azureStatus] ?? azureStatus;
    const jobId = job.properties.properties?.finetune_mcp_job_id ?? remoteId;
    const folder = `${this.config.path_prefix.replace(/^\/+/, '')}${jobId}/job`;
    // The trainer sees the output mount's own path; the datastore URI is what outlives the job.
    const toUri = (path: string) => {
      const at = path.indexOf('/checkpoints/') >= 0 ? path.indexOf('/checkpoints/') : path.indexOf('/output/');
      return at >= 0 ? this.datastoreUri(`${folder}${path.slice(at)}`) : path;
    };
    const poll = trainerPoll(status, report, cursor, 'azureml', toUri);
    poll.message = `Azure ML status ${azureStatus}`;
    if (status === 'succeeded') {
      // The trainer's folder name for its output: adapter/, or model/ for a full fine-tune.
      const adapter = this.datastoreUri(`${folder}/output/${cursor.output_kind === 'model' ? 'model' : 'adapter'}`);
      poll.result = { model_ref: `azureml:${adapter}`, meta: { provider: 'azureml', job_name: remoteId, adapter_uri: adapter, ...outputMeta(cursor) } };
      poll.message = cursor.trainer_message ?? poll.message;
    }
    if (status === 'failed') {
      poll.error_code = cursor.error_code;
      poll.message = [cursor.trainer_message, `Azure ML job ${remoteId} ended ${azureStatus}; its logs are in the studio (user_logs/std_log.txt).`].filter(Boolean).join(' — ');
    }
    return poll;
  }

  async cancel(remoteId: string, ctx: RemoteJobContext): Promise<void> {
    try {
      await this.azure.arm.request(this.jobPath(remoteId, '/cancel'), { method: 'POST', action: `cancelling Azure ML job ${remoteId}`, signal: ctx.signal });
    } catch (error) {
      // Cancelling a job that has ended, or whose cancel is already under way, is refused: not an error for a cancel.
      if (!isFinetuneError(error) || error.code === 'AUTH_INVALID') throw error;
      const job = await this.azure.arm.request<JobResource>(this.jobPath(remoteId), { action: `reading Azure ML job ${remoteId}`, signal: ctx.signal });
      const status = job.properties.status ?? '';
      if (!ENDED.has(status) && status !== 'CancelRequested') throw error;
    }
  }

  /** Whether a job of this name exists and is ours; another's is a STATE_CONFLICT. */
  private async existingJob(name: string, jobId: string, signal: AbortSignal | undefined): Promise<boolean> {
    let job: JobResource;
    try {
      job = await this.azure.arm.request<JobResource>(this.jobPath(name), { action: `looking for Azure ML job ${name}`, signal });
    } catch (error) {
      if (isFinetuneError(error) && error.code === 'NOT_FOUND') return false;
      throw error;
    }
    if (job.properties.properties?.finetune_mcp_job_id === jobId) return true;
    throw new FinetuneError('STATE_CONFLICT', `The Azure ML workspace already has a job named ${name} that finetune-mcp did not create for this job.`, {
      recovery: 'Use another workspace (plugins.azureml.workspace), or delete that job in the studio, then start again.',
    });
  }

  /** The trainer environment: the configured id, or an environment version holding `image` (PUT is idempotent; the version is the image's hash). */
  private async environmentId(signal: AbortSignal | undefined): Promise<string> {
    if (this.config.environment_id) return this.config.environment_id;
    const image = this.config.image!;
    const version = createHash('sha256').update(image).digest('hex').slice(0, 12);
    const path = `${this.where.path}/environments/finetune-mcp-trainer/versions/${version}`;
    await this.azure.arm.request(`${path}?api-version=${this.config.api_version}`, {
      method: 'PUT',
      json: { properties: { image, osType: 'Linux', description: 'finetune-mcp container trainer (trainer/Dockerfile)', tags: { 'finetune-mcp': 'trainer' } } },
      action: `registering the trainer environment for ${image}`,
      signal,
    });
    return path;
  }

  /** Put Blob into the datastore's container (Entra ID bearer token; the identity needs Storage Blob Data Contributor). */
  private async upload(blobPath: string, data: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const store = await this.datastore(signal);
    const base = this.config.blob_url ?? `${store.properties.protocol ?? 'https'}://${store.properties.accountName}.blob.${store.properties.endpoint ?? 'core.windows.net'}`;
    const url = `${base.replace(/\/$/, '')}/${encodeURIComponent(store.properties.containerName)}/${blobPath.split('/').map(encodeURIComponent).join('/')}`;
    await this.azure.storage.request(url, { method: 'PUT', bytes: data, headers: { 'x-ms-blob-type': 'BlockBlob' }, action: `uploading ${blobPath} (${data.length} bytes) to the '${this.config.datastore}' datastore`, signal });
  }

  private datastoreInfo?: Datastore;

  private async datastore(signal: AbortSignal | undefined): Promise<Datastore> {
    this.datastoreInfo ??= await this.azure.arm.request<Datastore>(`${this.where.path}/datastores/${encodeURIComponent(this.config.datastore)}?api-version=${this.config.api_version}`, {
      action: `reading the '${this.config.datastore}' datastore`,
      signal,
    });
    return this.datastoreInfo;
  }

  /**
   * New complete lines of the job's std_log.txt: the run history's contentinfo gives a SAS URL of the
   * blob, read from the byte offset kept in the state (Range; 416 = nothing new). Before the job runs there is no log (404).
   */
  private async readLog(name: string, log: string, cursor: AzureCursor, signal: AbortSignal | undefined): Promise<string> {
    let info: { contentUri?: string };
    try {
      info = await this.azure.history.request<{ contentUri?: string }>(`${await this.historyBase(signal)}/artifacts/contentinfo/ExperimentRun/dcid.${encodeURIComponent(name)}/${log}`, { action: `locating the log of Azure ML job ${name}`, signal });
    } catch (error) {
      if (isFinetuneError(error) && error.code === 'NOT_FOUND') return '';
      throw error;
    }
    if (!info.contentUri) return '';
    const from = cursor.log_bytes ?? 0;
    let bytes: Buffer;
    try {
      const response = await this.azure.sas.send(info.contentUri, { headers: { range: `bytes=${from}-` }, action: `reading the log of Azure ML job ${name}`, signal });
      bytes = Buffer.from(await response.arrayBuffer());
      // A server that ignores Range sends the whole blob: skip what was read.
      if (response.status === 200 && from > 0) bytes = bytes.subarray(from);
    } catch (error) {
      if (isFinetuneError(error) && error.details.status === 416) return '';
      throw error;
    }
    const end = bytes.lastIndexOf(0x0a) + 1;
    cursor.log_bytes = from + end;
    return bytes.subarray(0, end).toString('utf8');
  }

  /** `https://<region>.api.azureml.ms/artifact/v2.0/…/workspaces/<ws>`: the region is the workspace's location. */
  private async historyBase(signal: AbortSignal | undefined): Promise<string> {
    if (!this.config.run_history_url && !this.region) {
      const ws = await this.azure.arm.request<{ location?: string }>(`${this.where.path}?api-version=${this.config.api_version}`, { action: 'reading the workspace location', signal });
      this.region = ws.location ?? 'eastus';
    }
    const base = this.config.run_history_url ?? `https://${this.region}.api.azureml.ms`;
    return `${base.replace(/\/$/, '')}/artifact/v2.0${this.where.path}`;
  }

  private jobPath(name: string, action = ''): string {
    return `${this.where.path}/jobs/${encodeURIComponent(name)}${action}?api-version=${this.config.api_version}`;
  }

  private datastoreUri(path: string): string {
    return `azureml://datastores/${this.config.datastore}/paths/${path}`;
  }

  private compute(spec: TrainingSpec): string {
    return typeof spec.config.backend_options.compute === 'string' ? spec.config.backend_options.compute : this.where.compute;
  }

  /** The VM size plans are for: backend_options.instance_type, else the configured cluster's. */
  private vmSize(spec: TrainingSpec): string | undefined {
    const size = spec.config.backend_options.instance_type;
    return typeof size === 'string' ? size : this.config.vm_size;
  }
}

/** backend_options.num_gpus: trainer processes per node on Azure ML (default: the VM size's GPUs). */
function processCountIssue(options: Record<string, unknown>): SpecIssue | undefined {
  const gpus = options.num_gpus;
  if (gpus === undefined || (typeof gpus === 'number' && Number.isInteger(gpus) && gpus >= 1)) return undefined;
  return { severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.num_gpus', message: `num_gpus (trainer processes per node, one per GPU) must be a whole number ≥ 1, got ${JSON.stringify(gpus)}.` };
}

/**
 * The command job's resources and distribution: instance_count nodes, and with more than one process
 * in all, Azure ML's PyTorch distribution, which starts process_count_per_instance copies of the
 * command on each node with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (the
 * trainer then trains as that rank; rank 0 writes the events and the output).
 */
function distribution(spec: TrainingSpec, vmGpus: number | undefined): { resources: { instanceCount: number }; distribution?: { distributionType: 'PyTorch'; processCountPerInstance: number } } {
  const options = spec.config.backend_options;
  const nodes = instanceCount(options);
  const perNode = typeof options.num_gpus === 'number' ? options.num_gpus : (vmGpus ?? 1);
  if (nodes * perNode === 1) return { resources: { instanceCount: 1 } };
  return { resources: { instanceCount: nodes }, distribution: { distributionType: 'PyTorch', processCountPerInstance: perNode } };
}
