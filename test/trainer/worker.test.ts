import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTrainingBackend } from '../../plugins/local/trainer/backend.js';
import { runJob } from '../../plugins/local/trainer/job.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { processAlive, requestCancel } from '../../src/training/cancel-signal.js';
import { defaultPolicy } from '../../src/training/config-schema.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
import { JobLedger, type JobRecord } from '../../src/training/ledger.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { convertStories260K, makeSpec, memorySink, STYLE_STORIES } from './helpers/job-fixtures.js';
import type { TrainingSpec } from '../../src/plugins/providers.js';
import { workerLedgerOf } from '../../src/training/worker-ledger.js';

/** The detached worker, end to end: spawned process, ledger reporting, cancel, resume. */
let home: string;
let workspace: Workspace;
let ledger: JobLedger;
let modelDir: string;
let backend: LocalTrainingBackend;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'ftm-worker-'));
  workspace = Workspace.open({ root: home });
  ledger = new JobLedger(workspace.db);
  modelDir = convertStories260K(home);
  backend = new LocalTrainingBackend({ logger: createSilentLogger(), workers: workerLedgerOf(workspace), threads: 1 });
});
afterAll(() => {
  workspace.close();
  rmSync(home, { recursive: true, force: true });
});

function newJob(hyper: Parameters<typeof makeSpec>[0]['hyper']): TrainingSpec {
  const job_id = workspace.newId('job');
  const config_id = `cfg_${job_id}`;
  const spec = makeSpec({ root: home, job_id, modelDir, train: join(STYLE_STORIES, 'train.jsonl'), validation: join(STYLE_STORIES, 'validation.jsonl'), task_type: 'text', hyper });
  ledger.insertConfig({ ...spec.config, config_id, policy: defaultPolicy() as never, parent_config_id: null });
  ledger.create({ config_id, backend: 'local', policy: defaultPolicy() as never, job_id });
  ledger.transition(job_id, 'preparing'); // what the job manager does before start()
  return spec;
}

async function waitFor(job_id: string, done: (job: JobRecord) => boolean, timeoutMs = 60_000): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = ledger.get(job_id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${job_id} stuck in ${job.status}; log:\n${readFileSync(join(home, 'jobs', job_id, 'worker.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const terminal = (job: JobRecord) => ['succeeded', 'failed', 'cancelled'].includes(job.status);
const HYPER = { max_seq_length: 96, batch_size: 4, epochs: 1, eval_steps: 5, save_steps: 5, learning_rate: 2e-2 };

describe('detached training worker', () => {
  it('trains in its own process, reporting metrics, checkpoints and outputs through the ledger', async () => {
    const spec = newJob(HYPER);
    const handle = await backend.start(spec, createLedgerSink(workspace, spec.job_id));
    expect(Number(handle.remote_id)).not.toBe(process.pid);
    const job = await waitFor(spec.job_id, terminal);
    expect(job.status, readFileSync(join(spec.output_dir, 'worker.log'), 'utf8')).toBe('succeeded');
    expect(job.worker_pid).toBe(Number(handle.remote_id));
    const steps = ledger.metricSeries(spec.job_id, 'loss').map((m) => m.step);
    expect(steps).toEqual([...Array(13).keys()].map((k) => k + 1));
    for (const name of ['learning_rate', 'grad_norm', 'tokens_per_s', 'epoch', 'memory_rss_mb']) expect(ledger.metricSeries(spec.job_id, name)).toHaveLength(13);
    const evals = ledger.metricSeries(spec.job_id, 'eval_loss');
    expect(evals[evals.length - 1].value).toBeLessThan(evals[0].value / 2);
    expect(ledger.checkpoints(spec.job_id).map((c) => c.step)).toContain(13);
    const kinds = ledger.artifacts(spec.job_id).map((a) => a.kind).sort();
    expect(kinds).toEqual(['adapter', 'merged_model']);
    expect(existsSync(join(spec.output_dir, 'output', 'adapter', 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(spec.output_dir, 'output', 'merged', 'model.safetensors'))).toBe(true);
  });

  it('stops within one step of a cancel, leaves a usable checkpoint, and resumes to the losses of an uninterrupted run', async () => {
    const hyper = { ...HYPER, epochs: 2, save_steps: 0, eval_steps: 0, lora_dropout: 0.1 }; // dropout: its seeds must resume too
    const spec = newJob(hyper);
    await backend.start(spec, createLedgerSink(workspace, spec.job_id));
    await waitFor(spec.job_id, () => ledger.metricSeries(spec.job_id, 'loss').length >= 3);
    requestCancel(workspace, spec.job_id);
    const cancelled = await waitFor(spec.job_id, terminal);
    expect(cancelled.status).toBe('cancelled');
    const checkpoints = ledger.checkpoints(spec.job_id);
    const last = checkpoints[checkpoints.length - 1];
    const received = ledger.eventsSince(spec.job_id, 0, 1000).events.find((e) => e.type === 'cancel_received');
    expect(received).toBeDefined();
    // Only the step under way when the cancel arrived may finish.
    expect(last.step - (received!.data as { step: number }).step).toBeLessThanOrEqual(1);
    expect(existsSync(join(last.path, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    await waitFor(spec.job_id, () => !processAlive(Number(cancelled.remote_id)), 10_000);

    ledger.requeue(spec.job_id, last.path, 'resume');
    ledger.transition(spec.job_id, 'preparing');
    await backend.start({ ...spec, resume_from: last.path }, createLedgerSink(workspace, spec.job_id));
    const done = await waitFor(spec.job_id, terminal);
    expect(done.status, readFileSync(join(spec.output_dir, 'worker.log'), 'utf8')).toBe('succeeded');

    // The same job uninterrupted, in this process, on one thread like the worker.
    const reference = memorySink();
    const straight = makeSpec({ modelDir, train: join(STYLE_STORIES, 'train.jsonl'), validation: join(STYLE_STORIES, 'validation.jsonl'), task_type: 'text', hyper });
    await runJob(straight, reference, { threads: 1 });
    const expected = new Map(reference.series('loss'));
    const resumed = ledger.metricSeries(spec.job_id, 'loss').filter((m) => m.step > last.step);
    expect(resumed.length).toBe(26 - last.step);
    // The resumed run's losses are those of the uninterrupted run, step for step, exactly.
    for (const point of resumed) expect(point.value).toBe(expected.get(point.step));
    rmSync(straight.home, { recursive: true, force: true });
  });

  it('re-adopts a live worker by its pid (as a restarted server would) and cancels it through the handle', async () => {
    const spec = newJob({ ...HYPER, epochs: 4, eval_steps: 0, save_steps: 0 });
    const started = await backend.start(spec, createLedgerSink(workspace, spec.job_id));
    await waitFor(spec.job_id, () => ledger.metricSeries(spec.job_id, 'loss').length >= 2);
    const another = new LocalTrainingBackend({ logger: createSilentLogger(), workers: workerLedgerOf(workspace) });
    const sink = memorySink();
    const handle = await another.attach(started.remote_id, spec, sink);
    expect(handle.remote_id).toBe(started.remote_id);
    expect(sink.statuses).toEqual([]); // alive: nothing to report
    await handle.cancel();
    const end = await waitFor(spec.job_id, terminal);
    expect(end.status).toBe('cancelled');
    expect(ledger.checkpoints(spec.job_id).length).toBeGreaterThan(0);
  });
});
