import { readFileSync } from 'node:fs';
import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient, StopTrainingJobCommand, type DescribeTrainingJobResponse, type TrainingInstanceType } from '@aws-sdk/client-sagemaker';
import {
  containerSpec,
  FinetuneError,
  foldTrainerLog,
  hubModelIssue,
  instanceCount,
  instanceCountIssue,
  outputUriIssue,
  outputMeta,
  pickInstance,
  quoteInstance,
  trainerPoll,
  unpricedInstanceIssue,
  type PriceTable,
  type Quote,
  type QuoteBasis,
  type RemoteJobContext,
  type RemotePoll,
  type RemoteTrainingBackend,
  type SpecIssue,
  type TrainerCursor,
  type TrainingSpec,
} from '../../src/plugin-sdk/index.js';
import { awsError, isAwsError } from './aws-errors.js';
import type { SageMakerAccess, SageMakerConfig } from './config.js';

interface AwsClients {
  sagemaker: SageMakerClient;
  s3: S3Client;
  logs: CloudWatchLogsClient;
}

/** Where SageMaker puts things inside the container (the channel folder and the checkpoint folder it syncs to S3). */
const CHANNEL_DIR = '/opt/ml/input/data/training';
const CHECKPOINT_DIR = '/opt/ml/checkpoints';
const LOG_GROUP = '/aws/sagemaker/TrainingJobs';
/** Log pages read per stream and poll: a poll stays short; the rest is read next time. */
const MAX_LOG_PAGES = 10;

/** SecondaryStatus values before the container runs the trainer. */
const STARTING = new Set(['Starting', 'Pending', 'LaunchingMLInstances', 'PreparingTrainingStack', 'Downloading', 'DownloadingTrainingImage']);

/** ctx.state: the trainer's cursor, whether the job was seen running, and where each log stream was read up to. */
interface SageMakerCursor extends TrainerCursor {
  started?: boolean;
  log_tokens?: Record<string, string>;
}

/**
 * Runs the container trainer (trainer/) as a SageMaker training job: the spec and splits go to S3 as
 * the job's `training` channel, the job's name comes from ours (a retried create that meets its own
 * job re-attaches), and progress comes from the trainer's event lines in the job's CloudWatch logs.
 * Checkpoints and the adapter are written to /opt/ml/checkpoints, which SageMaker syncs to S3 (and
 * restores after a spot interruption, so the trainer resumes). With backend_options.instance_count
 * > 1 SageMaker starts the container on every instance; the trainer reads the cluster from
 * SageMaker's resourceconfig.json and runs one process per GPU under accelerate, rank 0 (on the
 * first host) alone writing events, checkpoints and the adapter.
 */
export class SageMakerBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly aws: AwsClients,
    private readonly access: SageMakerAccess,
    private readonly config: SageMakerConfig,
    private readonly prices: PriceTable,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

  async quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    const quote = quoteInstance(this.prices, basis, this.instanceType(spec), instanceCount(spec.config.backend_options));
    return this.spot(spec) ? { ...quote, basis: `${quote.basis}; managed spot is billed lower (up to 90 % off), not counted here` } : quote;
  }

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    const issues: SpecIssue[] = [];
    const options = spec.config.backend_options;
    const type = options.instance_type;
    if (type !== undefined && (typeof type !== 'string' || !/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(type))) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.instance_type', message: `instance_type must be a SageMaker training instance type such as ml.g5.2xlarge, got ${JSON.stringify(type)}.` });
    } else if (typeof type === 'string') {
      const unpriced = unpricedInstanceIssue(this.prices, type);
      if (unpriced) issues.push(unpriced);
    }
    const gpu = options.gpu_type;
    const machine = this.prices.instances.find((i) => i.instance === type);
    if (gpu !== undefined && (typeof gpu !== 'string' || !pickInstance(this.prices, gpu))) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.gpu_type', message: `gpu_type must be one of ${[...new Set(this.prices.instances.map((i) => i.device))].join(', ')}, got ${JSON.stringify(gpu)}.` });
    } else if (machine && typeof gpu === 'string' && machine.device !== gpu) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.gpu_type', message: `${machine.instance} carries ${machine.device}, not ${gpu}: set one of instance_type and gpu_type, or make them agree.` });
    }
    if (type === undefined && gpu === undefined) {
      issues.push({
        severity: 'warning',
        code: 'CONFIG_INVALID',
        field: 'backend_options.instance_type',
        message: `No backend_options.instance_type: the job runs on ${this.config.instance_type} (plugins.sagemaker.instance_type), while the plan is sized for the device it recommends; set instance_type to size the plan for the machine that runs.`,
      });
    }
    const count = instanceCountIssue(options);
    if (count) issues.push(count);
    if (options.spot !== undefined && typeof options.spot !== 'boolean') {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.spot', message: `spot must be true or false, got ${JSON.stringify(options.spot)}.` });
    }
    const runtime = options.max_runtime_s;
    if (runtime !== undefined && (typeof runtime !== 'number' || !Number.isInteger(runtime) || runtime < 60)) {
      issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.max_runtime_s', message: `max_runtime_s must be a whole number of seconds ≥ 60, got ${JSON.stringify(runtime)}.` });
    }
    const uri = outputUriIssue(options);
    if (uri) issues.push(uri);
    const model = hubModelIssue(spec, 'the SageMaker instance');
    if (model) issues.push(model);
    return issues;
  }

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }> {
    const { job_id, spec, files } = job;
    const name = this.jobName(job_id);
    const input = `${this.access.prefix}${job_id}/input/`;
    const remoteSpec = containerSpec(spec, {
      output_dir: CHECKPOINT_DIR,
      dataset_dir: CHANNEL_DIR,
      train_path: `${CHANNEL_DIR}/train.jsonl`,
      validation_path: files.validation ? `${CHANNEL_DIR}/validation.jsonl` : null,
    });
    // Same keys on a retry: an upload repeated is an overwrite with the same bytes.
    await this.put(`${input}spec.json`, Buffer.from(JSON.stringify(remoteSpec)), 'application/json', ctx.signal);
    await this.put(`${input}train.jsonl`, readFileSync(files.train), 'application/jsonlines', ctx.signal);
    if (files.validation) await this.put(`${input}validation.jsonl`, readFileSync(files.validation), 'application/jsonlines', ctx.signal);
    const runtime = typeof spec.config.backend_options.max_runtime_s === 'number' ? spec.config.backend_options.max_runtime_s : this.config.max_runtime_s;
    const spot = this.spot(spec);
    const command = new CreateTrainingJobCommand({
      TrainingJobName: name,
      RoleArn: this.access.role_arn,
      AlgorithmSpecification: {
        TrainingImage: this.access.image_uri,
        TrainingInputMode: 'File',
        // SageMaker would run the image with the argument `train`; the trainer takes its spec and job folder instead.
        ContainerEntrypoint: this.config.trainer_command,
        ContainerArguments: ['--spec', `${CHANNEL_DIR}/spec.json`, '--job-dir', CHECKPOINT_DIR],
      },
      HyperParameters: { finetune_mcp_job_id: job_id, spec: `${CHANNEL_DIR}/spec.json` },
      InputDataConfig: [
        {
          ChannelName: 'training',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: this.s3Uri(input), S3DataDistributionType: 'FullyReplicated' } },
          InputMode: 'File',
        },
      ],
      OutputDataConfig: { S3OutputPath: this.s3Uri(`${this.access.prefix}${job_id}/output/`) },
      CheckpointConfig: { S3Uri: this.checkpointUri(job_id), LocalPath: CHECKPOINT_DIR },
      // SageMaker checks the type (a ValidationException names it); types newer than this SDK's list pass through.
      ResourceConfig: { InstanceType: this.instanceType(spec) as TrainingInstanceType, InstanceCount: instanceCount(spec.config.backend_options), VolumeSizeInGB: this.config.volume_size_gb },
      StoppingCondition: { MaxRuntimeInSeconds: runtime, ...(spot ? { MaxWaitTimeInSeconds: runtime + this.config.spot_max_wait_extra_s } : {}) },
      EnableManagedSpotTraining: spot,
      Environment: { PYTHONUNBUFFERED: '1', ...this.config.env_vars },
      Tags: [{ Key: 'finetune-mcp:job-id', Value: job_id }],
    });
    try {
      await this.aws.sagemaker.send(command, { abortSignal: ctx.signal });
    } catch (error) {
      if (!isAwsError(error, 'ResourceInUse')) throw awsError(`creating training job ${name}`, error);
      // A create retried after its answer was lost meets its own job: re-attach. Another job by that name is a conflict.
      const existing = await this.describe(name, ctx.signal);
      if (existing.HyperParameters?.finetune_mcp_job_id !== job_id) {
        throw new FinetuneError('STATE_CONFLICT', `SageMaker already has a training job named ${name} that finetune-mcp job ${job_id} did not create.`, {
          recovery: 'Set plugins.sagemaker.job_name_prefix to a prefix no other workspace uses, then start again.',
          details: { field: 'plugins.sagemaker.job_name_prefix' },
        });
      }
    }
    return { remote_id: name };
  }

  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const job = await this.describe(remoteId, ctx.signal);
    const cursor = ctx.state as SageMakerCursor;
    const text = await this.readLogs(remoteId, cursor, ctx.signal);
    const { report } = foldTrainerLog(ctx.state, text);
    const status = this.status(job, cursor);
    const jobId = job.HyperParameters?.finetune_mcp_job_id ?? remoteId;
    const poll = trainerPoll(status, report, cursor, 'sagemaker', (path) => this.toS3(jobId, path));
    poll.message = job.SecondaryStatusTransitions?.at(-1)?.StatusMessage ?? job.SecondaryStatus;
    if (status === 'succeeded') {
      const adapter = this.toS3(jobId, cursor.adapter_path ?? `${CHECKPOINT_DIR}/output/adapter`);
      poll.result = { model_ref: `sagemaker:${adapter}`, meta: { provider: 'sagemaker', training_job: remoteId, adapter_uri: adapter, billable_seconds: job.BillableTimeInSeconds, ...outputMeta(cursor) } };
      poll.message = cursor.trainer_message ?? poll.message;
    }
    if (status === 'failed') {
      const reason = job.FailureReason ?? (job.SecondaryStatus === 'MaxRuntimeExceeded' || job.SecondaryStatus === 'MaxWaitTimeExceeded' ? `${job.SecondaryStatus}: the job ran into its stopping condition.` : undefined);
      poll.error_code = cursor.error_code ?? failureCode(job);
      poll.message = [cursor.trainer_message, reason].filter(Boolean).join(' — ') || `SageMaker training job ${remoteId} failed.`;
    }
    return poll;
  }

  async cancel(remoteId: string, ctx: RemoteJobContext): Promise<void> {
    try {
      await this.aws.sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: remoteId }), { abortSignal: ctx.signal });
    } catch (error) {
      // Stopping a job that is no longer InProgress is a ValidationException: not an error for a cancel.
      if (!isAwsError(error, 'ValidationException')) throw awsError(`stopping training job ${remoteId}`, error);
      const job = await this.describe(remoteId, ctx.signal);
      if (job.TrainingJobStatus === 'InProgress') throw awsError(`stopping training job ${remoteId}`, error);
    }
  }

  /** Our status: queued until the container starts (and never back: a spot restart stays running), Stopped by its limits is a failure. */
  private status(job: DescribeTrainingJobResponse, cursor: SageMakerCursor): string {
    switch (job.TrainingJobStatus) {
      case 'InProgress':
        if (!cursor.started && STARTING.has(job.SecondaryStatus ?? 'Starting')) return 'queued';
        cursor.started = true;
        return 'running';
      case 'Stopping':
        return 'running';
      case 'Completed':
        return 'succeeded';
      case 'Failed':
        return 'failed';
      case 'Stopped':
        return job.SecondaryStatus === 'MaxRuntimeExceeded' || job.SecondaryStatus === 'MaxWaitTimeExceeded' ? 'failed' : 'cancelled';
      default:
        return job.TrainingJobStatus ?? 'unknown';
    }
  }

  private async describe(name: string, signal: AbortSignal | undefined): Promise<DescribeTrainingJobResponse> {
    try {
      return await this.aws.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }), { abortSignal: signal });
    } catch (error) {
      // SageMaker answers an unknown job with a ValidationException ("Requested resource not found").
      if (isAwsError(error, 'ValidationException') && /not found/i.test((error as Error).message)) {
        throw new FinetuneError('NOT_FOUND', `SageMaker has no training job ${name}: ${(error as Error).message}`, { details: { provider: 'AWS', training_job: name }, cause: error });
      }
      throw awsError(`reading training job ${name}`, error);
    }
  }

  /** New log lines of the job's streams (`<name>/algo-1-<time>`…), each stream from where the last poll stopped. */
  private async readLogs(name: string, cursor: SageMakerCursor, signal: AbortSignal | undefined): Promise<string> {
    const streams: string[] = [];
    try {
      let nextToken: string | undefined;
      do {
        const page = await this.aws.logs.send(new DescribeLogStreamsCommand({ logGroupName: LOG_GROUP, logStreamNamePrefix: `${name}/`, nextToken }), { abortSignal: signal });
        streams.push(...(page.logStreams ?? []).map((s) => s.logStreamName).filter((s): s is string => !!s));
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (error) {
      // The log group appears with the account's first job's first log line.
      if (isAwsError(error, 'ResourceNotFoundException')) return '';
      throw awsError(`listing the log streams of training job ${name}`, error);
    }
    const tokens = (cursor.log_tokens ??= {});
    const lines: string[] = [];
    for (const stream of streams.sort()) {
      for (let page = 0; page < MAX_LOG_PAGES; page++) {
        const sent = tokens[stream];
        let answer;
        try {
          answer = await this.aws.logs.send(new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: stream, startFromHead: true, ...(sent ? { nextToken: sent } : {}) }), { abortSignal: signal });
        } catch (error) {
          throw awsError(`reading log stream ${stream}`, error);
        }
        for (const event of answer.events ?? []) lines.push((event.message ?? '').replace(/\r?\n$/, ''));
        if (answer.nextForwardToken) tokens[stream] = answer.nextForwardToken;
        // The same token back means the end of the stream for now.
        if (!answer.events?.length || answer.nextForwardToken === sent) break;
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  private async put(key: string, body: Buffer, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.aws.s3.send(new PutObjectCommand({ Bucket: this.access.bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
    } catch (error) {
      throw awsError(`uploading ${this.s3Uri(key)} (${body.length} bytes)`, error);
    }
  }

  /** `<prefix>-<job id>` in SageMaker's alphabet (letters, digits, hyphens; ≤ 63). */
  private jobName(jobId: string): string {
    return `${this.config.job_name_prefix}-${jobId.replace(/[^a-zA-Z0-9]+/g, '-')}`.replace(/-+$/, '').slice(0, 63);
  }

  /** backend_options.instance_type, else the cheapest machine with backend_options.gpu_type, else the config's. */
  private instanceType(spec: TrainingSpec): string {
    const options = spec.config.backend_options;
    if (typeof options.instance_type === 'string') return options.instance_type;
    const byGpu = typeof options.gpu_type === 'string' ? pickInstance(this.prices, options.gpu_type) : undefined;
    return byGpu?.instance ?? this.config.instance_type;
  }

  private spot(spec: TrainingSpec): boolean {
    return typeof spec.config.backend_options.spot === 'boolean' ? spec.config.backend_options.spot : this.config.spot;
  }

  private s3Uri(key: string): string {
    return `s3://${this.access.bucket}/${key}`;
  }

  private checkpointUri(jobId: string): string {
    return this.s3Uri(`${this.access.prefix}${jobId}/checkpoints/`);
  }

  /** A path in the container's checkpoint folder as the S3 URI SageMaker syncs it to. */
  private toS3(jobId: string, path: string): string {
    return path.startsWith(`${CHECKPOINT_DIR}/`) ? `${this.checkpointUri(jobId)}${path.slice(CHECKPOINT_DIR.length + 1)}` : path;
  }
}

/** Our code for a failure the trainer did not name: SageMaker's reason says whose fault it was. */
function failureCode(job: DescribeTrainingJobResponse): string | undefined {
  const reason = job.FailureReason ?? '';
  if (job.SecondaryStatus === 'MaxRuntimeExceeded' || job.SecondaryStatus === 'MaxWaitTimeExceeded') return 'TIMEOUT';
  if (/ResourceLimitExceeded|quota/i.test(reason)) return 'QUOTA_EXCEEDED';
  if (/^CapacityError|InternalServerError/i.test(reason)) return 'UPSTREAM_ERROR';
  if (/^ClientError/i.test(reason)) return 'CONFIG_INVALID';
  return undefined;
}
