import { inflateRawSync } from 'node:zlib';
import { fakeTrainerLog } from './fake-trainer.js';
import { HttpFake, type Reply, type SeenRequest } from './http-fake.js';

/**
 * A local stand-in for a Ray cluster's Jobs REST API (the dashboard's /api/jobs/ and /api/packages/,
 * ray-project/ray dashboard/modules/job/job_head.py): bearer-token auth, working_dir packages, jobs
 * by submission id (a repeat is a 400 "already exists" like Ray's), JobStatus PENDING → RUNNING →
 * SUCCEEDED / FAILED / STOPPED, and logs in which the "trainer" prints its event lines
 * (trainer/EVENTS.md) among other output, one step per `stepMs`.
 */
interface RayJob {
  submission_id: string;
  body: Record<string, any>;
  spec: Record<string, any>;
  files: Record<string, Buffer>;
  created: number;
  steps: number;
  stoppedAt?: number;
  fail?: { at: number; code: string; message: string };
}

/** The files of a zip archive (deflate or stored entries), read from its local headers. */
export function unzip(zip: Buffer): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  let at = 0;
  while (zip.readUInt32LE(at) === 0x04034b50) {
    const method = zip.readUInt16LE(at + 8);
    const packed = zip.readUInt32LE(at + 18);
    const nameLength = zip.readUInt16LE(at + 26);
    const extra = zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 30, at + 30 + nameLength).toString('utf8');
    const data = zip.subarray(at + 30 + nameLength + extra, at + 30 + nameLength + extra + packed);
    files[name] = method === 8 ? inflateRawSync(data) : Buffer.from(data);
    at += 30 + nameLength + extra + packed;
  }
  return files;
}

export class FakeRay {
  readonly http: HttpFake;
  readonly jobs = new Map<string, RayJob>();
  readonly packages = new Map<string, Buffer>();
  stepMs = 10;
  /** Ticks spent PENDING (the runtime env being set up) before RUNNING. */
  pendingTicks = 2;
  /** Makes a job fail at a step, chosen from its spec (e.g. by a backend option). */
  failFor?: (spec: Record<string, any>) => RayJob['fail'];
  /** Creates the next submitted job but answers 502, as when a proxy loses the answer. */
  loseNextSubmitAnswer = false;

  constructor(readonly token = 'ray-token-0123456789') {
    this.http = new HttpFake((request) =>
      request.headers.authorization === `Bearer ${this.token}`
        ? undefined
        : { status: 401, body: 'Unauthorized: Missing or invalid authentication token.', headers: { 'content-type': 'text/plain' } },
    );
    this.http
      .on('GET', /^\/api\/packages\/gcs\/([\w.-]+)$/, (_r, [name]) => (this.packages.has(name) ? { status: 200, body: {} } : text(404, `Package gcs://${name} does not exist`)))
      .on('PUT', /^\/api\/packages\/gcs\/([\w.-]+)$/, (request, [name]) => {
        this.packages.set(name, request.body);
        return { status: 200, body: {} };
      })
      .on('POST', /^\/api\/jobs\/$/, (request) => this.submit(request))
      .on('GET', /^\/api\/jobs\/([\w.-]+)$/, (_r, [id]) => this.withJob(id, (job) => ({ status: 200, body: this.details(job) })))
      .on('GET', /^\/api\/jobs\/([\w.-]+)\/logs$/, (_r, [id]) => this.withJob(id, (job) => ({ status: 200, body: { logs: this.logs(job) } })))
      .on('POST', /^\/api\/jobs\/([\w.-]+)\/stop$/, (_r, [id]) =>
        this.withJob(id, (job) => {
          const running = ['PENDING', 'RUNNING'].includes(this.details(job).status);
          if (running) job.stoppedAt = Date.now();
          return { status: 200, body: { stopped: running } };
        }),
      );
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private submit(request: SeenRequest): Reply {
    const body = JSON.parse(request.body.toString('utf8')) as Record<string, any>;
    if (typeof body.entrypoint !== 'string' || !body.entrypoint) return text(400, 'TypeError: entrypoint is required');
    const id = String(body.submission_id ?? `raysubmit_${this.jobs.size + 1}`);
    if (this.jobs.has(id)) {
      // What Ray's job manager raises, returned by job_head as a 400 with the traceback text.
      return text(400, `Traceback (most recent call last):\nValueError: Job with submission_id ${id} already exists. Please use a different submission_id.`);
    }
    const working = /^gcs:\/\/([\w.-]+)$/.exec(body.runtime_env?.working_dir ?? '');
    const zip = working ? this.packages.get(working[1]) : undefined;
    if (!zip) return text(400, `ValueError: runtime_env working_dir ${body.runtime_env?.working_dir} was not uploaded`);
    const files = unzip(zip);
    const spec = JSON.parse(files['spec.json'].toString('utf8')) as Record<string, any>;
    const hp = spec.config.hyperparameters;
    const steps = hp.max_steps > 0 ? hp.max_steps : 30;
    this.jobs.set(id, { submission_id: id, body, spec, files, created: Date.now(), steps, fail: this.failFor?.(spec) });
    if (this.loseNextSubmitAnswer) {
      this.loseNextSubmitAnswer = false;
      return text(502, 'Bad Gateway');
    }
    return { status: 200, body: { job_id: id, submission_id: id } };
  }

  private withJob(id: string, then: (job: RayJob) => Reply): Reply {
    const job = this.jobs.get(id);
    return job ? then(job) : text(404, `Job ${id} does not exist.`);
  }

  /** Ticks since submit, frozen when stopped. */
  private ticks(job: RayJob): number {
    return Math.floor(((job.stoppedAt ?? Date.now()) - job.created) / this.stepMs);
  }

  private step(job: RayJob): number {
    return Math.max(0, Math.min(job.steps, this.ticks(job) - this.pendingTicks, job.fail?.at ?? Infinity));
  }

  /** GET /api/jobs/{id}'s JobDetails (KubeRay's fake operator reads it as the real operator does). */
  details(job: RayJob): Record<string, unknown> {
    const ticks = this.ticks(job);
    const step = this.step(job);
    let status = ticks < this.pendingTicks ? 'PENDING' : 'RUNNING';
    let message: string | null = status === 'PENDING' ? 'Job has not started yet. It may be waiting for the runtime environment to be set up.' : 'Job is currently running.';
    let error_type: string | null = null;
    if (job.stoppedAt) [status, message] = ['STOPPED', 'Job was intentionally stopped.'];
    else if (job.fail && step >= job.fail.at) [status, message, error_type] = ['FAILED', 'Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars): ...', 'JOB_ENTRYPOINT_COMMAND_ERROR'];
    else if (step >= job.steps) [status, message] = ['SUCCEEDED', 'Job finished successfully.'];
    return { type: 'SUBMISSION', job_id: null, submission_id: job.submission_id, status, entrypoint: job.body.entrypoint, message, error_type, metadata: job.body.metadata ?? {}, runtime_env: job.body.runtime_env };
  }

  /** The driver's whole log so far, as GET /logs returns it: Ray's lines, library output and the trainer's event lines. */
  private logs(job: RayJob): string {
    if (this.ticks(job) < this.pendingTicks) return '';
    const dir = /--job-dir (\S+)/.exec(job.body.entrypoint)?.[1] ?? '/tmp/job';
    const run = { steps: job.steps, step: this.step(job), dir, fail: job.fail, stopped: job.stoppedAt !== undefined };
    return `2026-12-05 13:20:01,112\tINFO job_manager.py:568 -- Runtime env is setting up.\n${fakeTrainerLog(run)}`;
  }
}

function text(status: number, body: string): Reply {
  return { status, body, headers: { 'content-type': 'text/plain' } };
}
