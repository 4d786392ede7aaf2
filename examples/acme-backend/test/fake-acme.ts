/**
 * A local fake of the Acme Train API (README.md, "The Acme Train API"), for the plugin's tests and
 * finetune-mcp's end-to-end test. Jobs advance with the clock, so they go on while a server restarts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the next created job behaves. */
export interface JobBehaviour {
  total_steps: number;
  step_ms: number;
  /** Fails with this Acme error type when this step is reached. */
  fail_at_step?: number;
  fail_type?: string;
  /** The first N polls answer 'provisioning', a status the plugin does not know. */
  unknown_polls?: number;
}

interface Job extends JobBehaviour {
  id: string;
  model: string;
  suffix: string;
  started: number;
  polls: number;
  cancelled_at_step?: number;
}

const DEFAULTS: JobBehaviour = { total_steps: 6, step_ms: 40 };

export class FakeAcme {
  readonly api_key = 'acme-test-key';
  readonly models = new Set(['acme-tiny-1b']);
  readonly files = new Map<string, { filename: string; content: string }>();
  readonly jobs = new Map<string, Job>();
  /** Remote ids that received a cancel while running. */
  readonly cancelled = new Set<string>();
  /** What the next job does (then back to DEFAULTS). */
  next: Partial<JobBehaviour> = {};
  /** The next job creation is refused with 402 (quota used up). */
  refuse_next = false;
  url = '';
  private server?: Server;
  private ids = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    const send = (status: number, answer: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${++this.ids}` });
      res.end(JSON.stringify(answer));
    };
    const error = (status: number, message: string) => send(status, { error: { message } });
    if (req.headers.authorization !== `Bearer ${this.api_key}`) return error(401, 'invalid API key');
    const path = req.url ?? '';
    const jobMatch = /^\/v1\/fine-tunes\/([^/]+)(\/cancel)?$/.exec(path);
    if (req.method === 'POST' && path === '/v1/files') {
      const content = String(body.content ?? '');
      const bad = content.split('\n').findIndex((line) => line.trim() !== '' && !isChatRow(line));
      if (bad >= 0) return error(400, `line ${bad + 1}: not a chat example`);
      const id = `file-${++this.ids}`;
      this.files.set(id, { filename: String(body.filename), content });
      return send(200, { id, bytes: content.length });
    }
    if (req.method === 'DELETE' && path.startsWith('/v1/files/')) {
      this.files.delete(path.slice('/v1/files/'.length));
      return send(200, { deleted: true });
    }
    if (req.method === 'POST' && path === '/v1/fine-tunes') {
      if (this.refuse_next) {
        this.refuse_next = false;
        return error(402, 'monthly fine-tuning quota used up');
      }
      if (!this.models.has(String(body.model))) return error(400, `model '${String(body.model)}' is not available for fine-tuning`);
      if (!this.files.has(String(body.training_file))) return error(400, `training_file '${String(body.training_file)}' does not exist`);
      const job: Job = { ...DEFAULTS, ...this.next, id: `ft-${++this.ids}`, model: String(body.model), suffix: String(body.suffix ?? 'ft'), started: Date.now(), polls: 0 };
      this.next = {};
      this.jobs.set(job.id, job);
      return send(200, this.view(job));
    }
    const job = jobMatch ? this.jobs.get(decodeURIComponent(jobMatch[1])) : undefined;
    if (jobMatch && !job) return error(404, `no fine-tune job '${jobMatch[1]}'`);
    if (job && req.method === 'GET' && !jobMatch![2]) {
      job.polls++;
      return send(200, this.view(job));
    }
    if (job && req.method === 'POST' && jobMatch![2]) {
      const now = this.view(job);
      if (now.status !== 'queued' && now.status !== 'running' && now.status !== 'provisioning') return error(409, `job ${job.id} already ${now.status}`);
      job.cancelled_at_step = now.step;
      this.cancelled.add(job.id);
      return send(200, this.view(job));
    }
    return error(404, `no route ${req.method} ${path}`);
  }

  /** A job's status as GET /v1/fine-tunes/{id} would show it now (without counting as a poll). */
  statusOf(id: string): string | undefined {
    const job = this.jobs.get(id);
    return job && this.view(job).status;
  }

  /** The job as the API shows it now. */
  private view(job: Job) {
    const elapsed = Date.now() - job.started;
    const step = Math.max(0, Math.min(job.total_steps, Math.floor(elapsed / job.step_ms) - 1));
    const base = { id: job.id, model: job.model, total_steps: job.total_steps };
    if (job.cancelled_at_step !== undefined) return { ...base, status: 'cancelled', step: job.cancelled_at_step };
    if (job.unknown_polls && job.polls <= job.unknown_polls) return { ...base, status: 'provisioning', step: 0 };
    if (job.fail_at_step !== undefined && step >= job.fail_at_step) {
      return { ...base, status: 'failed', step: job.fail_at_step, error: { type: job.fail_type ?? 'internal', message: `worker stopped at step ${job.fail_at_step}` } };
    }
    if (elapsed < job.step_ms) return { ...base, status: 'queued', step: 0 };
    if (step >= job.total_steps) return { ...base, status: 'completed', step, train_loss: 0.5, fine_tuned_model: `acct/${job.model}-${job.suffix}` };
    return { ...base, status: 'running', step, train_loss: 2 - step / job.total_steps };
  }
}

function isChatRow(line: string): boolean {
  try {
    return Array.isArray((JSON.parse(line) as { messages?: unknown }).messages);
  } catch {
    return false;
  }
}
