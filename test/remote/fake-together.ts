import { HttpFake, parseForm, type Reply } from './http-fake.js';

/**
 * A local stand-in for Together's REST API (files/upload, fine-tunes, events, checkpoints,
 * cancel, estimate-price) with the object shapes of its OpenAPI spec. Each GET of a job
 * advances it one step along its script.
 */
export interface TogetherStep {
  status: string;
  events?: Array<{ message: string; type: string; level?: string; step?: number; total_steps?: number }>;
  checkpoints?: Array<{ step: number; path: string; checkpoint_type?: string }>;
  /** Snapshots for GET /fine-tunes/{id}/metrics, e.g. {'train/global_step': 3, 'train/loss': 1.2}. */
  metrics?: Array<Record<string, number>>;
}

interface Job {
  id: string;
  status: string;
  body: Record<string, any>;
  script: TogetherStep[];
  events: Array<Record<string, unknown>>;
  checkpoints: Array<Record<string, unknown>>;
  metrics: Array<Record<string, number>>;
  created: number;
  applied: number;
}

export class FakeTogether {
  readonly http: HttpFake;
  readonly files = new Map<string, { id: string; content: string; purpose: string; file_name: string; deleted: boolean }>();
  readonly jobs = new Map<string, Job>();
  script: TogetherStep[] = [{ status: 'pending' }, { status: 'completed' }];
  /** Picks a script from the create body (e.g. by suffix); the default script otherwise. */
  scriptFor?: (body: Record<string, any>) => TogetherStep[] | undefined;
  /** When set, a job advances one step per this many ms of wall time instead of one per GET. */
  stepMs?: number;
  private ids = 0;

  constructor(readonly apiKey = 'tg-test-key') {
    this.http = new HttpFake((request) =>
      request.headers.authorization === `Bearer ${this.apiKey}` ? undefined : { status: 401, body: { error: { message: 'Invalid API key provided', type: 'invalid_request_error' } } },
    );
    this.http
      .on('POST', /^\/v1\/files\/upload$/, async (request) => {
        const form = await parseForm(request);
        const file = form.get('file') as File;
        const id = `file-${++this.ids}`;
        this.files.set(id, { id, content: await file.text(), purpose: String(form.get('purpose')), file_name: String(form.get('file_name')), deleted: false });
        return { status: 200, body: { id, object: 'file', created_at: 1, filename: form.get('file_name'), bytes: file.size, purpose: form.get('purpose'), FileType: 'jsonl', Processed: true } };
      })
      .on('DELETE', /^\/v1\/files\/([^/]+)$/, (_r, [id]) => {
        const file = this.files.get(id);
        if (!file) return { status: 404, body: { error: { message: 'file not found', type: 'invalid_request_error' } } };
        file.deleted = true;
        return { status: 200, body: { id, deleted: true } };
      })
      .on('POST', /^\/v1\/chat\/completions$/, (request) => {
        const body = JSON.parse(request.body.toString('utf8')) as { model: string; messages: Array<{ content: string }> };
        return {
          status: 200,
          body: {
            id: 'chat-1', object: 'chat.completion', created: 1, model: body.model,
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `${body.model}: ${body.messages.at(-1)?.content}` } }],
            usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
          },
        };
      })
      .on('POST', /^\/v1\/fine-tunes\/estimate-price$/, (request) => {
        const body = JSON.parse(request.body.toString('utf8'));
        const file = this.files.get(body.training_file);
        if (!file) return { status: 400, body: { error: { message: 'training_file not found', type: 'invalid_request_error' } } };
        // A fixed per-token rate so tests can check what reaches estimate(); the real rate is Together's.
        const train = file.content.length * (body.n_epochs ?? 1);
        return { status: 200, body: { allowed_to_proceed: true, estimated_total_price: train * 1e-6, estimated_train_token_count: train, estimated_eval_token_count: 0, user_limit: 100 } };
      })
      .on('POST', /^\/v1\/fine-tunes$/, (request) => this.create(JSON.parse(request.body.toString('utf8'))))
      .on('GET', /^\/v1\/fine-tunes\/([^/]+)$/, (_r, [id]) => this.advance(id))
      .on('GET', /^\/v1\/fine-tunes\/([^/]+)\/events$/, (_r, [id]) => {
        const job = this.jobs.get(id);
        return job ? { status: 200, body: { data: job.events } } : notFound(id);
      })
      .on('GET', /^\/v1\/fine-tunes\/([^/]+)\/checkpoints$/, (_r, [id]) => {
        const job = this.jobs.get(id);
        return job ? { status: 200, body: { data: job.checkpoints } } : notFound(id);
      })
      .on('GET', /^\/v1\/fine-tunes\/([^/]+)\/metrics$/, (request, [id]) => {
        const job = this.jobs.get(id);
        if (!job) return notFound(id);
        const from = Number(request.query.get('global_step_from') ?? 0);
        return { status: 200, body: { metrics: job.metrics.filter((m) => (m['train/global_step'] ?? m['eval/global_step'] ?? 0) >= from) } };
      })
      .on('POST', /^\/v1\/fine-tunes\/([^/]+)\/cancel$/, (_r, [id]) => {
        const job = this.jobs.get(id);
        if (!job) return notFound(id);
        job.status = 'cancel_requested';
        job.script = [{ status: 'cancelled' }];
        return { status: 200, body: truncated(job) };
      });
  }

  start(): Promise<string> {
    return this.http.start().then((url) => `${url}/v1`);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private create(body: Record<string, any>): Reply {
    if (!this.files.has(body.training_file)) return { status: 400, body: { error: { message: `training_file ${body.training_file} not found`, type: 'invalid_request_error' } } };
    const id = `ft-${String(++this.ids).padStart(8, '0')}`;
    const script = this.scriptFor?.(body) ?? this.script;
    const job: Job = { id, status: 'pending', body, script: script.slice(1), events: [], checkpoints: [], metrics: [], created: Date.now(), applied: 0 };
    this.apply(job, script[0]);
    this.jobs.set(id, job);
    return { status: 200, body: truncated(job) };
  }

  private advance(id: string): Reply {
    const job = this.jobs.get(id);
    if (!job) return notFound(id);
    if (this.stepMs) {
      // Wall-clock progress: every step whose time has come, like a real job running meanwhile.
      const due = Math.floor((Date.now() - job.created) / this.stepMs);
      while (job.script.length && job.applied < due) {
        this.apply(job, job.script.shift());
        job.applied++;
      }
    } else this.apply(job, job.script.shift());
    return { status: 200, body: { ...truncated(job), model_output_name: job.status === 'completed' ? `user/${job.body.model.split('/').pop()}-${job.body.suffix ?? 'ft'}-${id}` : undefined } };
  }

  private apply(job: Job, step: TogetherStep | undefined): void {
    if (!step) return;
    job.status = step.status;
    for (const e of step.events ?? []) {
      job.events.push({ object: 'fine-tune-event', created_at: new Date(1_700_000_000_000 + job.events.length * 1000).toISOString(), level: 'info', param_count: 0, token_count: 0, total_steps: 0, wandb_url: '', step: 0, checkpoint_path: '', model_path: '', training_offset: 0, hash: '', ...e });
    }
    job.metrics.push(...(step.metrics ?? []));
    for (const c of step.checkpoints ?? []) job.checkpoints.push({ created_at: new Date(1_700_000_000_000).toISOString(), checkpoint_type: 'intermediate', ...c });
  }
}

function truncated(job: Job): Record<string, unknown> {
  return { id: job.id, status: job.status, created_at: '2023-11-14T22:13:20.000Z', updated_at: '2023-11-14T22:13:20.000Z', model: job.body.model, training_file: job.body.training_file, n_epochs: job.body.n_epochs };
}

function notFound(id: string): Reply {
  return { status: 404, body: { error: { message: `fine-tune ${id} not found`, type: 'invalid_request_error' } } };
}
