import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepStrictEqual } from 'node:assert/strict';
import { isRemoteBackend, type JobSink, type RemoteJobContext, type RemotePoll, type RemoteTrainingBackend, type TrainingBackend, type TrainingHyperparameters, type TrainingSpec } from '../../src/plugins/providers.js';
import { BASE_HYPERPARAMETERS } from '../../src/training/templates.js';

/** The shared base with only what this test needs changed. */
export const HYPERPARAMETERS: TrainingHyperparameters = {
  ...BASE_HYPERPARAMETERS,
  learning_rate: 2e-4,
  gradient_accumulation: 1,
  max_seq_length: 512,
};

export function chatRows(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    messages: [
      { role: 'system', content: 'You answer with the capital city.' },
      { role: 'user', content: `Question ${i}: what is the capital of country number ${i}?` },
      { role: 'assistant', content: `Capital number ${i}.` },
    ],
  }));
}

export function preferenceRows(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    prompt: [{ role: 'user', content: `Say hello politely, take ${i}.` }],
    chosen: [{ role: 'assistant', content: `Hello, and good day to you (${i}).` }],
    rejected: [{ role: 'assistant', content: `hi ${i}` }],
  }));
}

export interface SpecOptions {
  rows: Array<Record<string, unknown>>;
  validation?: Array<Record<string, unknown>>;
  method?: 'sft' | 'dpo';
  approach?: 'lora' | 'qlora' | 'full';
  backend: string;
  base_model: string;
  hyperparameters?: Partial<TrainingHyperparameters>;
  backend_options?: Record<string, unknown>;
  task_type?: string;
}

/** A TrainingSpec over JSONL files in a fresh temp folder, as the control plane would build it. */
export function makeSpec(options: SpecOptions): TrainingSpec {
  const home = mkdtempSync(join(tmpdir(), 'ftm-remote-'));
  const datasetDir = join(home, 'datasets', 'ds_test');
  mkdirSync(datasetDir, { recursive: true });
  const train_path = join(datasetDir, 'train.jsonl');
  writeFileSync(train_path, options.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  let validation_path: string | undefined;
  if (options.validation) {
    validation_path = join(datasetDir, 'validation.jsonl');
    writeFileSync(validation_path, options.validation.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  const job_id = 'job_test0001';
  const output_dir = join(home, 'jobs', job_id);
  mkdirSync(output_dir, { recursive: true });
  return {
    job_id,
    home,
    output_dir,
    config: {
      config_id: 'cfg_test0001',
      base_model: options.base_model,
      dataset_id: 'ds_test',
      method: options.method ?? 'sft',
      approach: options.approach ?? 'full',
      backend: options.backend,
      template: 'chatml',
      hyperparameters: { ...HYPERPARAMETERS, ...options.hyperparameters },
      backend_options: options.backend_options ?? {},
    },
    dataset: { dataset_id: 'ds_test', task_type: options.task_type ?? (options.method === 'dpo' ? 'preference' : 'chat'), dir: datasetDir, train_path, validation_path },
    model: { model_id: options.base_model, dir: '', name: options.base_model },
  };
}

/** A JobSink that records everything, with helpers to wait for a state. */
export class RecordingSink implements JobSink {
  readonly events: Array<{ type: string; message: string; data?: Record<string, unknown> }> = [];
  readonly metrics: Array<{ name: string; step: number; value: number }> = [];
  readonly checkpoints: Array<{ step: number; path: string; metrics?: Record<string, number> }> = [];
  readonly artifacts: Array<{ kind: string; path?: string; uri?: string; meta?: Record<string, unknown> }> = [];
  readonly statuses: Array<{ state: string; detail?: { message?: string; error_code?: string; remote_id?: string } }> = [];
  /** Which method was called, in order (e.g. to see the model artifact arrive before the end). */
  readonly calls: Array<keyof JobSink> = [];
  private waiters: Array<{ states: string[]; resolve: () => void }> = [];

  event(type: string, message: string, data?: Record<string, unknown>): void {
    this.calls.push('event');
    this.events.push({ type, message, data });
  }
  metric(name: string, step: number, value: number): void {
    this.calls.push('metric');
    this.metrics.push({ name, step, value });
  }
  checkpoint(checkpoint: { step: number; path: string; metrics?: Record<string, number> }): void {
    this.calls.push('checkpoint');
    this.checkpoints.push(checkpoint);
  }
  artifact(artifact: { kind: string; path?: string; uri?: string; meta?: Record<string, unknown> }): void {
    this.calls.push('artifact');
    this.artifacts.push(artifact);
  }
  status(state: string, detail?: { message?: string; error_code?: string; remote_id?: string }): void {
    this.calls.push('status');
    this.statuses.push({ state, detail });
    this.waiters = this.waiters.filter((w) => (w.states.includes(state) ? (w.resolve(), false) : true));
  }

  get states(): string[] {
    return this.statuses.map((s) => s.state);
  }

  series(name: string): Array<[number, number]> {
    return this.metrics.filter((m) => m.name === name).map((m) => [m.step, m.value]);
  }

  /** Resolves when one of `states` is reported (at once if it already was). */
  waitFor(...states: string[]): Promise<void> {
    if (this.statuses.some((s) => states.includes(s.state))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ states, resolve }));
  }
}

export function asRemote(backend: TrainingBackend): RemoteTrainingBackend {
  if (!isRemoteBackend(backend)) throw new Error('expected a remote training backend');
  return backend;
}

/**
 * One job of a remote backend driven call by call, as the host's loop would (without its timers), to
 * test what a plugin answers: every poll is kept. `state` starts as a copy of a persisted one after a "restart".
 */
export class RemoteRun {
  readonly polls: RemotePoll[] = [];
  readonly ctx: RemoteJobContext;
  remote_id = '';

  constructor(
    readonly backend: RemoteTrainingBackend,
    readonly spec: TrainingSpec,
    persisted?: { remote_id: string; state: Record<string, unknown> },
  ) {
    this.ctx = { job_id: spec.job_id, output_dir: spec.output_dir, state: persisted ? structuredClone(persisted.state) : {} };
    if (persisted) this.remote_id = persisted.remote_id;
  }

  async submit(): Promise<string> {
    const files = { train: this.spec.dataset.train_path, ...(this.spec.dataset.validation_path ? { validation: this.spec.dataset.validation_path } : {}) };
    ({ remote_id: this.remote_id } = await this.backend.submit({ job_id: this.spec.job_id, spec: this.spec, files }, this.ctx));
    return this.remote_id;
  }

  async poll(): Promise<RemotePoll> {
    const poll = await this.backend.poll(this.remote_id, this.ctx);
    // The host persists ctx.state as JSON after every poll: it must survive the round trip.
    deepStrictEqual(JSON.parse(JSON.stringify(this.ctx.state)), this.ctx.state);
    this.polls.push(poll);
    return poll;
  }

  /** Polls until one of `statuses` is reported (at most `max` polls, `waitMs` apart for fakes that run on the clock). */
  async pollUntil(statuses: string[] = ['succeeded', 'failed', 'cancelled'], { max = 2000, waitMs = 0 } = {}): Promise<RemotePoll> {
    for (let i = 0; i < max; i++) {
      const poll = await this.poll();
      if (statuses.includes(poll.status)) return poll;
      if (waitMs) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    throw new Error(`no ${statuses.join('/')} after ${max} polls (last: ${this.polls.at(-1)?.status})`);
  }

  /** The statuses reported, each change once. */
  get statuses(): string[] {
    return this.polls.map((p) => p.status).filter((s, i, all) => s !== all[i - 1]);
  }

  get last(): RemotePoll {
    return this.polls.at(-1)!;
  }

  series(name: string): Array<[number, number]> {
    return this.polls.flatMap((p) => p.metric_points ?? []).filter((m) => m.name === name).map((m) => [m.step, m.value]);
  }

  get events(): NonNullable<RemotePoll['events']> {
    return this.polls.flatMap((p) => p.events ?? []);
  }

  get checkpoints(): NonNullable<RemotePoll['checkpoints']> {
    return this.polls.flatMap((p) => p.checkpoints ?? []);
  }
}
