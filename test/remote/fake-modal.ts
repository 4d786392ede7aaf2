import { HttpFake, type Reply, type SeenRequest } from './http-fake.js';

/**
 * A local stand-in for the finetune-mcp Modal app's endpoints (plugins/modal/app/modal_app.py),
 * behind the same proxy auth (Modal-Key / Modal-Secret, 401 text otherwise). A submitted job
 * advances one step per `stepMs`: events with seq, loss metrics, checkpoints, then a PEFT adapter.
 */
interface Job {
  id: string;
  spec: Record<string, any>;
  train: string;
  created: number;
  steps: number;
  fail?: { at: number; code: string; message: string };
  cancelled: boolean;
  events: Array<Record<string, unknown>>;
  emitted: number;
  state: string;
}

/** A PEFT adapter as safetensors: 8-byte little-endian header length, JSON header, float32 data. */
export function tinyAdapter(r: number, hidden: number): Record<string, Buffer> {
  const names = ['q_proj', 'v_proj'].flatMap((m) => [
    [`base_model.model.model.layers.0.self_attn.${m}.lora_A.weight`, [r, hidden]],
    [`base_model.model.model.layers.0.self_attn.${m}.lora_B.weight`, [hidden, r]],
  ]) as Array<[string, number[]]>;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  const chunks: Buffer[] = [];
  for (const [name, shape] of names) {
    const values = new Float32Array(shape[0] * shape[1]).map((_, i) => (i % 7) * 0.01);
    const bytes = Buffer.from(values.buffer);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const config = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r, lora_alpha: 2 * r, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'test/base' };
  return { 'adapter_config.json': Buffer.from(JSON.stringify(config)), 'adapter_model.safetensors': Buffer.concat([length, json, ...chunks]) };
}

export class FakeModal {
  readonly http: HttpFake;
  readonly jobs = new Map<string, Job>();
  stepMs = 10;
  steps = 30;
  /** Makes a submitted job fail at a step, chosen from its spec (e.g. by a backend option). */
  failFor?: (spec: Record<string, any>) => Job['fail'];
  readonly adapter = tinyAdapter(4, 16);

  constructor(readonly tokenId = 'wk-test', readonly tokenSecret = 'ws-test') {
    this.http = new HttpFake((request) =>
      request.headers['modal-key'] === this.tokenId && request.headers['modal-secret'] === this.tokenSecret
        ? undefined
        : { status: 401, body: 'modal-http: missing credentials for proxy authorization', headers: { 'content-type': 'text/plain' } },
    );
    this.http
      .on('POST', /^\/jobs$/, (request) => this.submit(request))
      .on('GET', /^\/jobs\/([^/]+)$/, (_r, [id]) => this.withJob(id, (job) => ({ status: 200, body: this.status(job) })))
      .on('GET', /^\/jobs\/([^/]+)\/events$/, (request, [id]) =>
        this.withJob(id, (job) => {
          this.status(job);
          const after = Number(request.query.get('after') ?? 0);
          const limit = Math.min(Number(request.query.get('limit') ?? 500), 4);
          const data = job.events.filter((e) => (e.seq as number) > after).slice(0, limit);
          return { status: 200, body: { data, last_seq: data.length ? data[data.length - 1].seq : after, has_more: data.length >= limit } };
        }),
      )
      .on('POST', /^\/jobs\/([^/]+)\/cancel$/, (_r, [id]) =>
        this.withJob(id, (job) => {
          this.status(job);
          if (!['succeeded', 'failed', 'cancelled'].includes(job.state)) {
            job.cancelled = true;
            job.state = 'cancelled';
            this.push(job, { type: 'status', state: 'cancelled', message: 'Cancelled on request.' });
          }
          return { status: 200, body: this.status(job) };
        }),
      )
      .on('GET', /^\/jobs\/([^/]+)\/adapter$/, (_r, [id]) =>
        this.withJob(id, (job) =>
          this.status(job).state === 'succeeded'
            ? { status: 200, body: { files: Object.entries(this.adapter).map(([name, bytes]) => ({ name, bytes: bytes.length })) } }
            : { status: 404, body: { detail: { message: `job ${id} has no adapter yet` } } },
        ),
      )
      .on('GET', /^\/jobs\/([^/]+)\/adapter\/([^/]+)$/, (_r, [id, name]) =>
        this.withJob(id, () => {
          const bytes = this.adapter[decodeURIComponent(name)];
          return bytes ? { status: 200, body: bytes.toString('latin1'), headers: { 'content-type': 'application/octet-stream' }, binary: bytes } : { status: 404, body: { detail: { message: 'no file' } } };
        }),
      );
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private withJob(id: string, answer: (job: Job) => Reply): Reply {
    const job = this.jobs.get(decodeURIComponent(id));
    return job ? answer(job) : { status: 404, body: { detail: { message: `no job ${id}` } } };
  }

  private submit(request: SeenRequest): Reply {
    const body = JSON.parse(request.body.toString('utf8'));
    const method = body.spec?.config?.method;
    if (method !== 'sft' && method !== 'dpo') return { status: 400, body: { detail: { message: `config.method: must be 'sft' or 'dpo', got ${JSON.stringify(method)}`, param: 'config.method' } } };
    if (!body.train_jsonl) return { status: 400, body: { detail: { message: 'train.jsonl line 1: the file is empty' } } };
    const existing = this.jobs.get(body.job_id);
    if (existing) return { status: 200, body: this.status(existing) };
    const job: Job = { id: body.job_id, spec: body.spec, train: body.train_jsonl, created: Date.now(), steps: this.steps, fail: this.failFor?.(body.spec), cancelled: false, events: [], emitted: 0, state: 'queued' };
    this.jobs.set(job.id, job);
    this.push(job, { type: 'status', state: 'queued', message: 'Waiting for a GPU.' });
    return { status: 200, body: this.status(job) };
  }

  private push(job: Job, event: Record<string, unknown>): void {
    job.events.push({ seq: job.events.length + 1, time: Date.now() / 1000, ...event });
  }

  /** Plays the job forward to now: step k happens at created + (k + 1) × stepMs. */
  private status(job: Job): Record<string, unknown> {
    const due = Math.min(job.steps, Math.floor((Date.now() - job.created) / this.stepMs) - 1);
    while (!['succeeded', 'failed', 'cancelled'].includes(job.state) && job.emitted < due) {
      const step = ++job.emitted;
      if (job.state === 'queued') {
        job.state = 'running';
        this.push(job, { type: 'status', state: 'running', message: 'Training started.' });
      }
      if (job.fail && step >= job.fail.at) {
        job.state = 'failed';
        this.push(job, { type: 'status', state: 'failed', message: job.fail.message, error_code: job.fail.code });
        break;
      }
      this.push(job, { type: 'metric', name: 'loss', step, value: 2 / (1 + 0.1 * step) });
      this.push(job, { type: 'metric', name: 'lr', step, value: 2e-4 });
      if (step % 10 === 0) this.push(job, { type: 'checkpoint', step, path: `/runs/${job.id}/checkpoints/checkpoint-${step}` });
      if (step === job.steps) {
        job.state = 'succeeded';
        this.push(job, { type: 'artifact', kind: 'adapter', path: `/runs/${job.id}/output/adapter` });
        this.push(job, { type: 'status', state: 'succeeded', message: `Adapter saved after ${step} steps.` });
      }
    }
    const failed = job.state === 'failed' ? { error_code: job.fail?.code } : {};
    return { job_id: job.id, state: job.state, message: job.fail && job.state === 'failed' ? job.fail.message : '', step: job.emitted, total_steps: job.steps, call_id: `fc-${job.id}`, ...failed };
  }
}
