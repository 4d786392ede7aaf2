import { fakeTrainerLog } from './fake-trainer.js';
import { HttpFake, type Reply, type SeenRequest } from './http-fake.js';

/**
 * A local stand-in for what the azureml plugin calls, on Azure's documented REST shapes:
 * - ARM, Microsoft.MachineLearningServices (api-version required): GET the workspace (its location),
 *   GET a datastore, PUT an environment version, PUT / GET a job (Command jobs; statuses NotStarted →
 *   Queued → Preparing → Running → Finalizing → Completed, Failed, CancelRequested → Canceled), POST
 *   …/jobs/{name}/cancel (202; refused for an ended job), ARM's `{error: {code, message}}` errors and
 *   x-ms-request-id;
 * - Run history `artifact/v2.0/…/artifacts/contentinfo/ExperimentRun/dcid.<job>/user_logs/std_log.txt` (`std_log_process_0.txt` for a distributed job)
 *   (404 until the job runs), answering a SAS URL of the blob;
 * - Blob storage: Put Blob (x-ms-blob-type BlockBlob, an Entra ID bearer token and x-ms-version), and
 *   GET of a SAS URL with Range (206, or 416 past the end), XML errors.
 * Each surface wants a bearer token for its own audience, as Azure does; the SAS URL wants its signature.
 */
interface FakeJob {
  name: string;
  body: Record<string, any>;
  spec?: Record<string, any>;
  created: number;
  steps: number;
  cancelledAt?: number;
  fail?: { at: number; code: string; message: string };
}

export const FAKE_TOKENS = {
  arm: 'token:https://management.azure.com/.default',
  storage: 'token:https://storage.azure.com/.default',
  history: 'token:https://ml.azure.com/.default',
};

/** A token source like DefaultAzureCredential's, giving the token the fake expects for each scope. */
export const fakeCredential = { getToken: async (scope: string | string[]) => ({ token: `token:${Array.isArray(scope) ? scope[0] : scope}`, expiresOnTimestamp: Date.now() + 3_600_000 }) };

const API_VERSION = '2024-04-01';

export class FakeAzureMl {
  readonly http: HttpFake;
  readonly jobs = new Map<string, FakeJob>();
  /** Blobs by `<account>/<container>/<path>`. */
  readonly blobs = new Map<string, Buffer>();
  readonly environments = new Map<string, Record<string, any>>();
  readonly computes = new Set(['gpu-cluster']);
  stepMs = 10;
  /** Ticks in NotStarted, Queued and Preparing before Running. */
  startTicks = 3;
  failFor?: (spec: Record<string, any>) => FakeJob['fail'];
  /** Creates the next job but answers 502, as when a gateway loses the answer. */
  loseNextCreateAnswer = false;
  readonly account = 'ftmstorage';
  readonly container = 'azureml-blobstore-0d5b7c1e';
  readonly workspacePath = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-ws';

  constructor() {
    this.http = new HttpFake((request) => this.authorize(request));
    const ws = escape(this.workspacePath);
    this.http
      .on('GET', new RegExp(`^${ws}$`), () => ok({ id: this.workspacePath, name: 'ml-ws', location: 'eastus', properties: { discoveryUrl: 'https://eastus.api.azureml.ms/discovery' } }))
      .on('GET', new RegExp(`^${ws}/datastores/([\\w-]+)$`), (_r, [name]) =>
        name === 'workspaceblobstore'
          ? ok({ id: `${this.workspacePath}/datastores/${name}`, name, properties: { datastoreType: 'AzureBlob', accountName: this.account, containerName: this.container, endpoint: 'core.windows.net', protocol: 'https', isDefault: true } })
          : armError(404, 'UserError', `Datastore ${name} not found in workspace ml-ws.`),
      )
      .on('PUT', new RegExp(`^${ws}/environments/([\\w-]+)/versions/([\\w.-]+)$`), (request, [name, version]) => {
        const body = JSON.parse(request.body.toString('utf8')) as Record<string, any>;
        if (!body.properties?.image) return armError(400, 'UserError', 'Environment must have an image or a build context.');
        this.environments.set(`${name}/${version}`, body);
        return { status: 201, body: { id: `${this.workspacePath}/environments/${name}/versions/${version}`, ...body } };
      })
      .on('PUT', new RegExp(`^${ws}/jobs/([\\w-]+)$`), (request, [name]) => this.createJob(request, name))
      .on('GET', new RegExp(`^${ws}/jobs/([\\w-]+)$`), (_r, [name]) => this.withJob(name, (job) => ok(this.resource(job))))
      .on('POST', new RegExp(`^${ws}/jobs/([\\w-]+)/cancel$`), (_r, [name]) => this.withJob(name, (job) => this.cancel(job)))
      .on('GET', new RegExp(`^/history/artifact/v2\\.0${ws}/artifacts/contentinfo/ExperimentRun/dcid\\.([\\w-]+)/user_logs/(std_log(?:_process_0)?\\.txt)$`), (_r, [name, log]) => this.contentInfo(name, log))
      .on('PUT', /^\/blob\/([\w-]+)\/([\w-]+)\/(.+)$/, (request, [account, container, path]) => this.putBlob(request, account, container, decodeURIComponent(path)))
      .on('GET', /^\/sas\/([\w-]+)\/([\w-]+)$/, (request, [account, name]) => this.readSas(request, account, name));
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private authorize(request: SeenRequest): Reply | undefined {
    const auth = String(request.headers.authorization ?? '');
    if (request.path.startsWith('/sas/')) return request.query.get('sig') === 'fakesig' ? undefined : blobError(403, 'AuthenticationFailed', 'Server failed to authenticate the request.');
    if (request.path.startsWith('/blob/')) {
      if (auth !== `Bearer ${FAKE_TOKENS.storage}`) return blobError(401, 'InvalidAuthenticationInfo', 'Authentication information is not given in the correct format.');
      if (!request.headers['x-ms-version']) return blobError(400, 'MissingRequiredHeader', 'An HTTP header that is mandatory for this request is not specified: x-ms-version.');
      return undefined;
    }
    const wanted = request.path.startsWith('/history/') ? FAKE_TOKENS.history : FAKE_TOKENS.arm;
    if (auth !== `Bearer ${wanted}`) return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (!request.path.startsWith('/history/') && request.query.get('api-version') !== API_VERSION) {
      return armError(400, 'NoRegisteredProviderFound', `No registered resource provider found for API version '${request.query.get('api-version')}'.`);
    }
    return undefined;
  }

  private createJob(request: SeenRequest, name: string): Reply {
    const body = JSON.parse(request.body.toString('utf8')) as Record<string, any>;
    const p = body.properties ?? {};
    if (p.jobType !== 'Command') return armError(400, 'UserError', `jobType '${p.jobType}' is not supported here.`);
    if (typeof p.command !== 'string' || !p.command) return armError(400, 'UserError', 'Command job must have a command.');
    const compute = /\/computes\/([\w-]+)$/.exec(p.computeId ?? '')?.[1];
    if (!compute || !this.computes.has(compute)) return armError(400, 'UserError', `Compute ${p.computeId} is not found in workspace ml-ws.`);
    const env = /\/environments\/([\w-]+)\/versions\/([\w.-]+)$/.exec(p.environmentId ?? '');
    if (!env || !this.environments.has(`${env[1]}/${env[2]}`)) return armError(400, 'UserError', `Environment ${p.environmentId} not found.`);
    if (this.jobs.has(name)) return armError(409, 'UserError', `A job with name ${name} already exists and cannot be changed.`);
    const input = /^azureml:\/\/datastores\/workspaceblobstore\/paths\/(.+)$/.exec(p.inputs?.job?.uri ?? '')?.[1];
    const specBytes = input ? this.blobs.get(`${this.account}/${this.container}/${input}spec.json`) : undefined;
    if (!specBytes) return armError(400, 'UserError', `Input job: no data at ${p.inputs?.job?.uri}.`);
    const spec = JSON.parse(specBytes.toString('utf8')) as Record<string, any>;
    const hp = spec.config.hyperparameters;
    const job: FakeJob = { name, body, spec, created: Date.now(), steps: hp.max_steps > 0 ? hp.max_steps : 30, fail: this.failFor?.(spec) };
    this.jobs.set(name, job);
    if (this.loseNextCreateAnswer) {
      this.loseNextCreateAnswer = false;
      return { status: 502, body: '<html><body>502 Bad Gateway</body></html>', headers: { 'content-type': 'text/html' } };
    }
    return { status: 201, body: this.resource(job), headers: armHeaders() };
  }

  private withJob(name: string, then: (job: FakeJob) => Reply): Reply {
    const job = this.jobs.get(name);
    return job ? then(job) : armError(404, 'UserError', `The specified resource name 'jobs/${name}' was not found.`);
  }

  private ticks(job: FakeJob): number {
    return Math.floor(((job.cancelledAt ?? Date.now()) - job.created) / this.stepMs);
  }

  private step(job: FakeJob): number {
    return Math.max(0, Math.min(job.steps, this.ticks(job) - this.startTicks, job.fail?.at ?? Infinity));
  }

  private status(job: FakeJob): string {
    if (job.cancelledAt) return Date.now() - job.cancelledAt < this.stepMs * 2 ? 'CancelRequested' : 'Canceled';
    const ticks = this.ticks(job);
    if (ticks < this.startTicks) return ['NotStarted', 'Queued', 'Preparing'][Math.min(ticks, 2)];
    const step = this.step(job);
    if (job.fail && step >= job.fail.at) return 'Failed';
    if (step >= job.steps) return ticks - this.startTicks - job.steps < 1 ? 'Finalizing' : 'Completed';
    return 'Running';
  }

  private resource(job: FakeJob): Record<string, unknown> {
    return { id: `${this.workspacePath}/jobs/${job.name}`, name: job.name, type: 'Microsoft.MachineLearningServices/workspaces/jobs', properties: { ...job.body.properties, status: this.status(job) } };
  }

  private cancel(job: FakeJob): Reply {
    if (['Completed', 'Failed', 'Canceled', 'CancelRequested'].includes(this.status(job))) return armError(400, 'UserError', `Cannot cancel job ${job.name} in status ${this.status(job)}.`);
    job.cancelledAt = Date.now();
    return { status: 202, body: '', headers: { ...armHeaders(), location: `https://management.azure.com${this.workspacePath}/operationResults/cancel-${job.name}` } };
  }

  /** A distributed (PyTorch) job logs each process apart, std_log_process_<rank>.txt; a single process logs to std_log.txt. */
  private contentInfo(name: string, log: string): Reply {
    const job = this.jobs.get(name);
    const expected = job?.body.properties.distribution ? 'std_log_process_0.txt' : 'std_log.txt';
    if (!job || this.ticks(job) < this.startTicks || log !== expected) return armError(404, 'UserError', `Artifact user_logs/${log} of run ${name} not found.`);
    return ok({ contentUri: `${this.http.url}/sas/${this.account}/${name}?sv=2023-11-03&se=2026-12-06T00%3A00%3A00Z&sr=b&sp=r&sig=fakesig`, origin: 'ExperimentRun', container: `dcid.${name}`, path: `user_logs/${log}` });
  }

  private putBlob(request: SeenRequest, account: string, container: string, path: string): Reply {
    if (request.headers['x-ms-blob-type'] !== 'BlockBlob') return blobError(400, 'MissingRequiredHeader', 'x-ms-blob-type is required.');
    if (account !== this.account || container !== this.container) return blobError(404, 'ContainerNotFound', 'The specified container does not exist.');
    this.blobs.set(`${account}/${container}/${path}`, request.body);
    return { status: 201, body: '', headers: { etag: '"0x8DC"', 'x-ms-request-id': 'blob-req', 'x-ms-request-server-encrypted': 'true' } };
  }

  /** The job's std_log.txt so far, with Range as blob storage answers it. */
  private readSas(request: SeenRequest, _account: string, name: string): Reply {
    const job = this.jobs.get(name);
    if (!job) return blobError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const dir = '/mnt/azureml/cr/j/0d5b7c1e/cap/data-capability/wd/job_dir';
    const log = Buffer.from(`Starting the daemon thread to refresh tokens in background for process with pid = 42\n${fakeTrainerLog({ steps: job.steps, step: this.step(job), dir, fail: job.fail, stopped: job.cancelledAt !== undefined })}`);
    const range = /^bytes=(\d+)-$/.exec(String(request.headers.range ?? ''));
    if (!range) return { status: 200, binary: log, headers: { 'content-type': 'text/plain' } };
    const from = Number(range[1]);
    if (from >= log.length) return blobError(416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
    return { status: 206, binary: log.subarray(from), headers: { 'content-type': 'text/plain', 'content-range': `bytes ${from}-${log.length - 1}/${log.length}` } };
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function armHeaders(): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': `arm-${Math.random().toString(16).slice(2, 10)}` };
}

function ok(body: unknown): Reply {
  return { status: 200, body, headers: armHeaders() };
}

/** ARM's error shape. */
export function armError(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } }, headers: armHeaders() };
}

export function blobError(status: number, code: string, message: string): Reply {
  return { status, body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`, headers: { 'content-type': 'application/xml', 'x-ms-request-id': 'blob-err', 'x-ms-error-code': code } };
}
