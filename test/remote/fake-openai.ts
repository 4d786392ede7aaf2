import { HttpFake, page, parseForm, type Reply } from './http-fake.js';

/**
 * A local stand-in for the OpenAI API's files, fine-tuning and chat-completions endpoints (the API
 * shape OpenAI-compatible fine-tuning providers such as Nebius Token Factory also speak), with
 * the documented object shapes (fine_tuning.job, fine_tuning.job.event, fine_tuning.job.checkpoint,
 * cursor pages with has_more). Each GET of a job advances it one step along its script.
 */
export interface ScriptStep {
  status: string;
  events?: Array<{ message: string; level?: 'info' | 'warn' | 'error'; type?: 'message' | 'metrics'; data?: Record<string, unknown> }>;
  checkpoints?: Array<{ step: number; metrics: Record<string, number> }>;
  error?: { code: string; message: string; param: string | null };
}

interface FakeJob {
  object: 'fine_tuning.job';
  id: string;
  created_at: number;
  error: ScriptStep['error'] | null;
  fine_tuned_model: string | null;
  finished_at: number | null;
  hyperparameters: Record<string, unknown>;
  model: string;
  organization_id: string;
  result_files: string[];
  seed: number;
  status: string;
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  metadata: Record<string, string> | null;
  method: Record<string, unknown>;
  script: ScriptStep[];
  created: number;
  applied: number;
  events: Array<Record<string, unknown> & { id: string }>;
  checkpoints: Array<Record<string, unknown> & { id: string }>;
}

/** A run as the API reports one: validation, queue, one metrics event per step, a checkpoint every 10 steps, success. */
export function trainingScript(steps: number): ScriptStep[] {
  return [
    { status: 'validating_files' },
    { status: 'queued' },
    ...Array.from({ length: steps }, (_, i) => ({
      status: 'running',
      events: [{ message: `Step ${i + 1}/${steps}: training loss=${(2 / (1 + 0.1 * i)).toFixed(2)}`, type: 'metrics' as const, data: { step: i + 1, train_loss: 2 / (1 + 0.1 * i), total_steps: steps } }],
      ...((i + 1) % 10 === 0 ? { checkpoints: [{ step: i + 1, metrics: { step: i + 1, train_loss: 2 / (1 + 0.1 * i) } }] } : {}),
    })),
    { status: 'succeeded' },
  ];
}

/** A job that fails upstream at file validation, as OpenAI reports a bad training file. */
export const FAILING_SCRIPT: ScriptStep[] = [
  { status: 'validating_files' },
  { status: 'failed', error: { code: 'invalid_training_file', message: 'The training file has an invalid format on line 3.', param: 'training_file' } },
];

export class FakeOpenAI {
  readonly http: HttpFake;
  readonly files = new Map<string, { id: string; purpose: string; filename: string; content: string; deleted: boolean }>();
  readonly jobs = new Map<string, FakeJob>();
  /** The script the next created job follows. */
  script: ScriptStep[] = [{ status: 'validating_files' }, { status: 'succeeded' }];
  /** Picks a script from the create body (e.g. by suffix); the default script otherwise. */
  scriptFor?: (body: Record<string, any>) => ScriptStep[] | undefined;
  /** When set, a job advances one step per this many ms of wall time instead of one per GET. */
  stepMs?: number;
  /** Rejects uploads whose content fails this check with a 400 naming the line. */
  rejectLine?: (line: string) => boolean;
  private ids = 0;

  constructor(readonly apiKey = 'sk-test-key') {
    this.http = new HttpFake((request) =>
      request.headers.authorization === `Bearer ${this.apiKey}`
        ? undefined
        : { status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } },
    );
    this.http
      .on('POST', /^\/v1\/files$/, async (request) => this.upload(await parseForm(request)))
      .on('GET', /^\/v1\/files\/([^/]+)\/content$/, (_r, [id]) => {
        const file = this.files.get(id);
        return file && !file.deleted ? { status: 200, body: file.content, headers: { 'content-type': 'application/octet-stream' } } : notFound(id);
      })
      .on('DELETE', /^\/v1\/files\/([^/]+)$/, (_r, [id]) => {
        const file = this.files.get(id);
        if (!file) return notFound(id);
        file.deleted = true;
        return { status: 200, body: { id, object: 'file', deleted: true } };
      })
      .on('POST', /^\/v1\/fine_tuning\/jobs$/, (request) => this.createJob(JSON.parse(request.body.toString('utf8'))))
      .on('GET', /^\/v1\/fine_tuning\/jobs\/([^/]+)$/, (_r, [id]) => this.advance(id))
      .on('GET', /^\/v1\/fine_tuning\/jobs\/([^/]+)\/events$/, (request, [id]) => {
        const job = this.jobs.get(id);
        // Newest first, like the real API; pages of at most 3 so pagination is exercised.
        return job ? { status: 200, body: page([...job.events].reverse(), request.query, 3) } : notFound(id);
      })
      .on('GET', /^\/v1\/fine_tuning\/jobs\/([^/]+)\/checkpoints$/, (request, [id]) => {
        const job = this.jobs.get(id);
        return job ? { status: 200, body: page([...job.checkpoints].reverse(), request.query, 2) } : notFound(id);
      })
      .on('POST', /^\/v1\/fine_tuning\/jobs\/([^/]+)\/(cancel|pause|resume)$/, (_r, [id, verb]) => this.control(id, verb))
      .on('POST', /^\/v1\/chat\/completions$/, (request) => {
        const body = JSON.parse(request.body.toString('utf8')) as { model: string; messages: Array<{ content: string }> };
        const last = body.messages[body.messages.length - 1]?.content ?? '';
        return {
          status: 200,
          body: {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: body.model,
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `${body.model} says: ${last}`, refusal: null } }],
            usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
          },
        };
      });
  }

  start(): Promise<string> {
    return this.http.start().then((url) => `${url}/v1`);
  }

  /** An already finished job with its uploaded files, as one made months ago in the dashboard. */
  seedJob(job: { model: string; training: string; validation?: string; method: Record<string, unknown>; status?: string; seed?: number }): string {
    const file = (content: string) => {
      const id = this.nextId('file');
      this.files.set(id, { id, purpose: 'fine-tune', filename: `${id}.jsonl`, content, deleted: false });
      return id;
    };
    const id = this.nextId('ftjob');
    const status = job.status ?? 'succeeded';
    this.jobs.set(id, {
      object: 'fine_tuning.job', id, created_at: 1_700_000_000, error: null,
      fine_tuned_model: status === 'succeeded' ? `ft:${job.model}:org-test::${id}` : null,
      finished_at: 1_700_000_900, hyperparameters: {}, model: job.model, organization_id: 'org-test', result_files: [], seed: job.seed ?? 7,
      status, trained_tokens: 1000, training_file: file(job.training), validation_file: job.validation ? file(job.validation) : null,
      metadata: null, method: job.method, script: [], created: Date.now(), applied: 0, events: [], checkpoints: [],
    });
    return id;
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private nextId(prefix: string): string {
    return `${prefix}-${(++this.ids).toString().padStart(6, '0')}`;
  }

  private async upload(form: FormData): Promise<Reply> {
    const file = form.get('file') as File;
    const content = await file.text();
    const bad = this.rejectLine ? content.split('\n').findIndex((line) => line && this.rejectLine!(line)) : -1;
    if (bad >= 0) {
      return { status: 400, body: { error: { message: `Invalid file format. Line ${bad + 1}, key "messages": expected a list.`, type: 'invalid_request_error', param: 'file', code: null } } };
    }
    const id = this.nextId('file');
    this.files.set(id, { id, purpose: String(form.get('purpose')), filename: file.name, content, deleted: false });
    return { status: 200, body: { id, object: 'file', bytes: content.length, created_at: 1, filename: file.name, purpose: form.get('purpose'), status: 'processed' } };
  }

  private createJob(body: Record<string, any>): Reply {
    if (!this.files.has(body.training_file)) {
      return { status: 400, body: { error: { message: `invalid training_file: ${body.training_file}`, type: 'invalid_request_error', param: 'training_file', code: null } } };
    }
    const id = this.nextId('ftjob');
    const script = this.scriptFor?.(body) ?? this.script;
    const methodType = body.method?.type ?? 'supervised';
    const job: FakeJob = {
      object: 'fine_tuning.job',
      id,
      created_at: 1_700_000_000,
      error: null,
      fine_tuned_model: null,
      finished_at: null,
      hyperparameters: body.method?.[methodType]?.hyperparameters ?? {},
      model: body.model,
      organization_id: 'org-test',
      result_files: [],
      seed: body.seed ?? 0,
      status: 'validating_files',
      trained_tokens: null,
      training_file: body.training_file,
      validation_file: body.validation_file ?? null,
      metadata: body.metadata ?? null,
      method: body.method ?? { type: 'supervised' },
      script: script.slice(1),
      created: Date.now(),
      applied: 0,
      events: [{ id: `${id}-ev-0`, object: 'fine_tuning.job.event', created_at: 1_700_000_000, level: 'info', message: 'Created fine-tuning job', type: 'message', data: {} }],
      checkpoints: [],
    };
    this.jobs.set(id, job);
    this.apply(job, script[0]);
    return { status: 200, body: publicJob(job) };
  }

  private advance(id: string): Reply {
    const job = this.jobs.get(id);
    if (!job) return notFound(id);
    // A paused job makes no progress until it is resumed, as on the real service.
    if (job.status === 'paused') return { status: 200, body: publicJob(job) };
    if (this.stepMs) {
      // Wall-clock progress: every step whose time has come, like a real job running meanwhile.
      const due = Math.floor((Date.now() - job.created) / this.stepMs);
      while (job.script.length && job.applied < due) {
        this.apply(job, job.script.shift());
        job.applied++;
      }
    } else this.apply(job, job.script.shift());
    return { status: 200, body: publicJob(job) };
  }

  private apply(job: FakeJob, step: ScriptStep | undefined): void {
    const id = job.id;
    if (step) {
      job.status = step.status;
      for (const event of step.events ?? []) {
        job.events.push({ id: `${id}-ev-${job.events.length}`, object: 'fine_tuning.job.event', created_at: 1_700_000_000 + job.events.length, level: 'info', type: 'message', data: {}, ...event });
      }
      for (const c of step.checkpoints ?? []) {
        job.checkpoints.push({
          id: `ftckpt_${id}_${c.step}`,
          object: 'fine_tuning.job.checkpoint',
          created_at: 1_700_000_100,
          fine_tuned_model_checkpoint: `ft:${job.model}:org-test::${id}:ckpt-step-${c.step}`,
          fine_tuning_job_id: id,
          metrics: c.metrics,
          step_number: c.step,
        });
      }
      if (step.status === 'succeeded') {
        job.fine_tuned_model = `ft:${job.model}:org-test::${id}`;
        job.trained_tokens = 12_345;
        job.finished_at = 1_700_000_500;
      }
      if (step.error) job.error = step.error;
    }
  }

  private control(id: string, verb: string): Reply {
    const job = this.jobs.get(id);
    if (!job) return notFound(id);
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      return { status: 400, body: { error: { message: `Job ${id} has already completed`, type: 'invalid_request_error', param: null, code: null } } };
    }
    const status = verb === 'cancel' ? 'cancelled' : verb === 'pause' ? 'paused' : 'running';
    job.status = status;
    job.script = verb === 'cancel' ? [] : job.script;
    return { status: 200, body: publicJob(job) };
  }
}

function notFound(id: string): Reply {
  return { status: 404, body: { error: { message: `No such object: ${id}`, type: 'invalid_request_error', param: 'id', code: null } } };
}

function publicJob(job: FakeJob): Record<string, unknown> {
  const { script: _s, events: _e, checkpoints: _c, created: _t, applied: _a, ...rest } = job;
  return rest;
}
