import { fakeTrainerLog } from './fake-trainer.js';
import { HttpFake, type Reply, type SeenRequest } from './http-fake.js';

/**
 * A local stand-in for the three AWS APIs the sagemaker plugin calls, on their real wire protocols,
 * so the real AWS SDK v3 clients (pointed here with `endpoint`, S3 path-style) talk to it:
 * - SageMaker (AWS JSON 1.1, `X-Amz-Target: SageMaker.<Operation>`): CreateTrainingJob (the API's
 *   validation errors, ResourceInUse for a name taken), DescribeTrainingJob (InProgress with its
 *   SecondaryStatus → Completed / Failed / Stopping → Stopped), StopTrainingJob (ValidationException
 *   for a job not InProgress);
 * - CloudWatch Logs (AWS JSON 1.1, `Logs_20140328.<Operation>`): DescribeLogStreams by prefix and
 *   GetLogEvents paged with nextForwardToken (the same token back at the end), in the group
 *   /aws/sagemaker/TrainingJobs, stream `<job>/algo-1-<time>`, one event per line the "trainer" printed;
 * - S3 (REST): PUT /<bucket>/<key> (path-style), XML errors.
 * Every request must carry a SigV4 Authorization header for the fake's access key, as AWS checks.
 * Errors are AWS's shapes: JSON `{__type, message}` with HTTP 400, S3's `<Error><Code>`.
 */
interface FakeTrainingJob {
  name: string;
  request: Record<string, any>;
  spec?: Record<string, any>;
  created: number;
  steps: number;
  stoppedAt?: number;
  fail?: { at: number; code: string; message: string };
  /** Set when the job's input channel was empty: SageMaker fails it at the download. */
  downloadError?: string;
}

const LOG_GROUP = '/aws/sagemaker/TrainingJobs';
/** A few of SageMaker's TrainingInstanceType values (the API refuses any other). */
const INSTANCE_TYPES = new Set(['ml.m5.xlarge', 'ml.g4dn.xlarge', 'ml.g5.xlarge', 'ml.g5.2xlarge', 'ml.g5.4xlarge', 'ml.g5.12xlarge', 'ml.g6.xlarge', 'ml.g6e.2xlarge', 'ml.p4d.24xlarge', 'ml.p5.48xlarge']);

export class FakeSageMaker {
  readonly http: HttpFake;
  readonly jobs = new Map<string, FakeTrainingJob>();
  /** S3 objects by `<bucket>/<key>`. */
  readonly objects = new Map<string, Buffer>();
  stepMs = 10;
  /** Ticks in Starting / Downloading before Training. */
  startTicks = 2;
  /** Log events per GetLogEvents page (small, so paging is exercised). */
  pageSize = 7;
  failFor?: (spec: Record<string, any>) => FakeTrainingJob['fail'];
  /** Creates the next job but answers 500, as when the answer is lost: the SDK retries and meets ResourceInUse. */
  loseNextCreateAnswer = false;
  /** Operation → answers to give instead of the real one, in order (ThrottlingException, AccessDeniedException…). */
  readonly faults = new Map<string, Reply[]>();
  readonly calls: string[] = [];

  constructor(
    readonly accessKey = 'AKIDFAKESAGEMAKER01',
    readonly buckets = new Set(['ftm-bucket']),
  ) {
    this.http = new HttpFake((request) => this.authorize(request));
    this.http
      .on('POST', /^\/$/, (request) => this.json(request))
      .on('PUT', /^\/([^/]+)\/(.+)$/, (request, [bucket, key]) => this.putObject(request, bucket, decodeURIComponent(key)));
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** Makes the next `times` calls of `operation` answer `reply`. */
  failNext(operation: string, reply: Reply, times = 1): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), ...Array.from({ length: times }, () => reply)]);
  }

  count(operation: string): number {
    return this.calls.filter((c) => c === operation).length;
  }

  private authorize(request: SeenRequest): Reply | undefined {
    const auth = String(request.headers.authorization ?? '');
    if (auth.startsWith(`AWS4-HMAC-SHA256 Credential=${this.accessKey}/`)) return undefined;
    if (request.method === 'PUT') return s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    return awsJsonError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  private json(request: SeenRequest): Reply {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.split('.').at(-1) ?? '';
    this.calls.push(operation);
    const fault = this.faults.get(operation)?.shift();
    if (fault) return fault;
    const body = JSON.parse(request.body.toString('utf8') || '{}') as Record<string, any>;
    const handlers: Record<string, (body: Record<string, any>) => Reply> = {
      'SageMaker.CreateTrainingJob': (b) => this.create(b),
      'SageMaker.DescribeTrainingJob': (b) => this.withJob(b.TrainingJobName, (job) => ok(this.describe(job))),
      'SageMaker.StopTrainingJob': (b) => this.withJob(b.TrainingJobName, (job) => this.stopJob(job)),
      'Logs_20140328.DescribeLogStreams': (b) => this.describeLogStreams(b),
      'Logs_20140328.GetLogEvents': (b) => this.getLogEvents(b),
    };
    const handler = handlers[target];
    return handler ? handler(body) : awsJsonError('UnknownOperationException', `Unknown operation ${target}`);
  }

  private putObject(request: SeenRequest, bucket: string, key: string): Reply {
    this.calls.push('PutObject');
    const fault = this.faults.get('PutObject')?.shift();
    if (fault) return fault;
    if (!this.buckets.has(bucket)) return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    this.objects.set(`${bucket}/${key}`, request.body);
    return { status: 200, body: '', headers: { etag: '"fake-etag"', 'x-amz-request-id': 'S3REQ1' } };
  }

  private create(body: Record<string, any>): Reply {
    const name = String(body.TrainingJobName ?? '');
    const problems: string[] = [];
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name)) problems.push(`Value '${name}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@_/-]+$/.test(String(body.RoleArn ?? ''))) problems.push(`Value '${body.RoleArn}' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern`);
    const type = body.ResourceConfig?.InstanceType;
    if (!INSTANCE_TYPES.has(type)) problems.push(`Value '${type}' at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set`);
    if (problems.length) return awsJsonError('ValidationException', `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`);
    const stopping = body.StoppingCondition ?? {};
    if (body.EnableManagedSpotTraining && !(stopping.MaxWaitTimeInSeconds >= stopping.MaxRuntimeInSeconds)) {
      return awsJsonError('ValidationException', 'Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds');
    }
    if (this.jobs.has(name)) return awsJsonError('ResourceInUse', `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${name})`);
    const job: FakeTrainingJob = { name, request: body, created: Date.now(), steps: 30 };
    const input = /^s3:\/\/([^/]+)\/(.*)$/.exec(body.InputDataConfig?.[0]?.DataSource?.S3DataSource?.S3Uri ?? '');
    const specBytes = input ? this.objects.get(`${input[1]}/${input[2]}spec.json`) : undefined;
    if (specBytes) {
      job.spec = JSON.parse(specBytes.toString('utf8')) as Record<string, any>;
      const hp = job.spec.config.hyperparameters;
      job.steps = hp.max_steps > 0 ? hp.max_steps : 30;
      job.fail = this.failFor?.(job.spec);
    } else job.downloadError = `ClientError: Data download failed:No S3 objects found under S3 URL "${body.InputDataConfig?.[0]?.DataSource?.S3DataSource?.S3Uri}".`;
    this.jobs.set(name, job);
    if (this.loseNextCreateAnswer) {
      this.loseNextCreateAnswer = false;
      return { status: 500, body: { __type: 'InternalFailure', message: 'We encountered an internal error. Please try again.' }, headers: jsonHeaders() };
    }
    return ok({ TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name.toLowerCase()}` });
  }

  private withJob(name: unknown, then: (job: FakeTrainingJob) => Reply): Reply {
    const job = this.jobs.get(String(name));
    return job ? then(job) : awsJsonError('ValidationException', 'Requested resource not found.');
  }

  private ticks(job: FakeTrainingJob, at = Date.now()): number {
    return Math.floor(((job.stoppedAt ?? at) - job.created) / this.stepMs);
  }

  private step(job: FakeTrainingJob): number {
    return Math.max(0, Math.min(job.steps, this.ticks(job) - this.startTicks, job.fail?.at ?? Infinity));
  }

  /** [TrainingJobStatus, SecondaryStatus, FailureReason?] now. */
  private state(job: FakeTrainingJob): [string, string, string?] {
    if (job.stoppedAt) return Date.now() - job.stoppedAt < this.stepMs * 2 ? ['Stopping', 'Stopping'] : ['Stopped', 'Stopped'];
    const ticks = this.ticks(job);
    if (ticks < this.startTicks) return ['InProgress', ticks < 1 ? 'Starting' : 'Downloading'];
    if (job.downloadError) return ['Failed', 'Failed', job.downloadError];
    const step = this.step(job);
    if (job.fail && step >= job.fail.at) return ['Failed', 'Failed', `AlgorithmError: ${job.fail.message}, exit code: 1`];
    if (step >= job.steps) return ticks - this.startTicks - job.steps < 1 ? ['InProgress', 'Uploading'] : ['Completed', 'Completed'];
    return ['InProgress', 'Training'];
  }

  private describe(job: FakeTrainingJob): Record<string, unknown> {
    const [status, secondary, reason] = this.state(job);
    const r = job.request;
    return {
      TrainingJobName: job.name,
      TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${job.name.toLowerCase()}`,
      TrainingJobStatus: status,
      SecondaryStatus: secondary,
      ...(reason ? { FailureReason: reason } : {}),
      HyperParameters: r.HyperParameters,
      AlgorithmSpecification: r.AlgorithmSpecification,
      RoleArn: r.RoleArn,
      InputDataConfig: r.InputDataConfig,
      OutputDataConfig: r.OutputDataConfig,
      ResourceConfig: r.ResourceConfig,
      StoppingCondition: r.StoppingCondition,
      CreationTime: job.created / 1000,
      SecondaryStatusTransitions: [{ Status: secondary, StartTime: job.created / 1000, StatusMessage: `${secondary} (fake)` }],
      ...(status === 'Completed' ? { BillableTimeInSeconds: Math.ceil((job.steps * this.stepMs) / 1000) } : {}),
    };
  }

  private stopJob(job: FakeTrainingJob): Reply {
    const [status] = this.state(job);
    if (status !== 'InProgress') return awsJsonError('ValidationException', `The request was rejected because the training job is in status ${status}.`);
    job.stoppedAt = Date.now();
    return ok({});
  }

  /** A job's log stream exists once its container started (Training). */
  private streamOf(job: FakeTrainingJob): string | undefined {
    return this.ticks(job) >= this.startTicks && !job.downloadError ? `${job.name}/algo-1-1764928800` : undefined;
  }

  private describeLogStreams(body: Record<string, any>): Reply {
    if (body.logGroupName !== LOG_GROUP) return awsJsonError('ResourceNotFoundException', 'The specified log group does not exist.');
    const streams = [...this.jobs.values()].map((job) => this.streamOf(job)).filter((s): s is string => s !== undefined);
    // The group is created with the account's first training log line.
    if (!streams.length) return awsJsonError('ResourceNotFoundException', 'The specified log group does not exist.');
    const prefix = String(body.logStreamNamePrefix ?? '');
    return ok({ logStreams: streams.filter((s) => s.startsWith(prefix)).map((logStreamName) => ({ logStreamName, arn: `arn:aws:logs:us-east-1:123456789012:log-group:${LOG_GROUP}:log-stream:${logStreamName}` })) });
  }

  private getLogEvents(body: Record<string, any>): Reply {
    const job = [...this.jobs.values()].find((j) => this.streamOf(j) === body.logStreamName);
    if (body.logGroupName !== LOG_GROUP || !job) return awsJsonError('ResourceNotFoundException', 'The specified log stream does not exist.');
    const lines = this.lines(job);
    const token = typeof body.nextToken === 'string' ? body.nextToken : undefined;
    const from = token ? Number(/^f\/(\d+)$/.exec(token)?.[1] ?? NaN) : 0;
    if (!Number.isInteger(from)) return awsJsonError('InvalidParameterException', 'The specified nextToken is invalid.');
    const page = lines.slice(from, from + Math.min(this.pageSize, Number(body.limit ?? 10_000)));
    const next = `f/${from + page.length}`;
    return ok({ events: page.map((message, i) => ({ timestamp: job.created + from + i, message, ingestionTime: job.created + from + i })), nextForwardToken: next, nextBackwardToken: `b/${from}` });
  }

  /** What the container printed so far, one CloudWatch event a line. */
  private lines(job: FakeTrainingJob): string[] {
    const dir = job.request.AlgorithmSpecification?.ContainerArguments?.[3] ?? '/opt/ml/checkpoints';
    const log = `Invoking script with the following command:\n${(job.request.AlgorithmSpecification?.ContainerEntrypoint ?? []).join(' ')}\n${fakeTrainerLog({ steps: job.steps, step: this.step(job), dir, fail: job.fail, stopped: job.stoppedAt !== undefined })}`;
    return log.split('\n').filter((line) => line !== '');
  }
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `fake-${Math.random().toString(16).slice(2, 10)}` };
}

function ok(body: unknown): Reply {
  return { status: 200, body, headers: jsonHeaders() };
}

/** An AWS JSON 1.1 error: HTTP 400 and `{__type, message}` (what the SDK turns into a named exception). */
export function awsJsonError(type: string, message: string, status = 400): Reply {
  return { status, body: { __type: type, message }, headers: jsonHeaders() };
}

function s3Error(status: number, code: string, message: string): Reply {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>S3ERR1</RequestId><HostId>fake</HostId></Error>`,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'S3ERR1' },
  };
}
