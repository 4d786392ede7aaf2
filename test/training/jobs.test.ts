import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { renderJobCurves } from '../../src/plots/job-curves.js';
import { processAlive } from '../../src/training/cancel-signal.js';
import { listJobsTool } from '../../tools/list-jobs.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { resumeTrainingTool } from '../../tools/resume-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitDead(pid: number): Promise<void> {
  for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(20);
  expect(processAlive(pid)).toBe(false);
}

describe('jobs', () => {
  const clients: TestClient[] = [];
  const homes: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  const connect = async (...args: Parameters<typeof connectFast>) => {
    const c = await connectFast(...args);
    clients.push(c);
    return c;
  };

  it('SIGKILL of a running worker: the next server start marks the job interrupted, and resume reaches success from the last checkpoint', async () => {
    const worker = testBackendPlugin({ mode: 'worker' });
    const home = mkdtempSync(join(tmpdir(), 'ftm-sigkill-'));
    homes.push(home);
    const first = await connect([worker], home);
    const job = await startJob(first, { overrides: { max_steps: 30, save_steps: 4 }, backend_options: { step_ms: 40 } });
    const running = await waitFor(first, job.job_id, (s, step) => s === 'running' && step >= 10);
    expect(running.worker_pid).toBeGreaterThan(0);
    expect(running.worker_pid).not.toBe(process.pid);
    process.kill(running.worker_pid!, 'SIGKILL');
    await waitDead(running.worker_pid!);
    await first.close();
    clients.splice(0);

    const second = await connect([worker], home);
    const after = await second.callOk(monitorTrainingTool, { job_id: job.job_id });
    expect(after.status).toBe('interrupted');
    expect(after.recovery).toMatch(/resume_training/);
    // The server that spawned the worker saw it killed: the event says so, not "server restart".
    expect(after.error_message).toMatch(new RegExp(`Worker process ${running.worker_pid} was killed by SIGKILL`));
    expect(after.error_message).not.toMatch(/server restart/);
    const lastCheckpoint = after.checkpoints.at(-1)!;
    expect(lastCheckpoint.step).toBeGreaterThanOrEqual(8);
    expect(JSON.parse(readFileSync(join(lastCheckpoint.path, 'state.json'), 'utf8')).step).toBe(lastCheckpoint.step);

    const resumed = await second.callOk(resumeTrainingTool, { job_id: job.job_id });
    expect([resumed.attempt, resumed.resumed_from]).toEqual([2, lastCheckpoint.path]);
    const end = await waitFor(second, job.job_id, ended);
    expect(end.status).toBe('succeeded');
    expect(end.step).toBe(30);
    const restart = end.events.filter((e) => e.type === 'progress').at(-1);
    expect(restart?.data?.start_step).toBe(lastCheckpoint.step);
    expect(end.worker_pid).not.toBe(running.worker_pid);
    expect(existsSync(join(home, 'jobs', job.job_id, 'output', 'adapter', 'adapter_config.json'))).toBe(true);
    const path = end.events.filter((e) => e.type === 'status').map((e) => e.data?.to);
    expect(path).toEqual(['queued', 'preparing', 'running', 'interrupted', 'queued', 'preparing', 'running', 'succeeded']);
  });

  it('a worker that dies while the server runs is noticed by the watch loop; auto_resume brings it back', async () => {
    const t = await connect([testBackendPlugin({ mode: 'worker' })]);
    const job = await startJob(t, { overrides: { max_steps: 24, save_steps: 4 }, backend_options: { step_ms: 40 }, policy: { auto_resume: true } });
    const running = await waitFor(t, job.job_id, (s, step) => s === 'running' && step >= 6);
    process.kill(running.worker_pid!, 'SIGKILL');
    const end = await waitFor(t, job.job_id, (s) => s === 'succeeded' || s === 'failed' || s === 'cancelled');
    expect(end.status, JSON.stringify({ error: end.error, events: end.events.slice(-8) })).toBe('succeeded');
    expect(end.attempt).toBe(2);
    const interrupted = end.events.find((e) => e.type === 'status' && e.data?.to === 'interrupted');
    expect(interrupted?.message).toBe(`Worker process ${running.worker_pid} was killed by SIGKILL while the server was running, without reporting an end.`);
  });

  it('queues jobs beyond the backend concurrency and runs them in order', async () => {
    const t = await connect([testBackendPlugin({ capabilities: { max_concurrent_jobs: 1 } })]);
    // The first job runs ~1 s, so it is still running when the third is queued even on a loaded machine.
    const a = await startJob(t, { overrides: { max_steps: 10 }, backend_options: { step_ms: 100 } });
    const b = await startJob(t, { overrides: { max_steps: 4 } });
    const c = await startJob(t, { overrides: { max_steps: 4 } });
    expect(a.queue_position).toBe(0);
    expect([b.status, b.queue_position, c.queue_position]).toEqual(['queued', 1, 2]);
    const endC = await waitFor(t, c.job_id, ended);
    expect(endC.status).toBe('succeeded');
    const ledger = t.services.jobs.jobLedger;
    const [ja, jb, jc] = [a, b, c].map((j) => ledger.get(j.job_id));
    expect(ja.finished_at! <= jb.started_at!).toBe(true);
    expect(jb.finished_at! <= jc.started_at!).toBe(true);
  });

  it('monitor_training: waits for a change with progress notifications, pages events by cursor and draws the loss curve', async () => {
    const t = await connect([testBackendPlugin()]);
    const job = await startJob(t, { overrides: { max_steps: 12, eval_steps: 3 }, backend_options: { step_ms: 30 } });
    const progress: number[] = [];
    const waited = await t.client.callTool(
      { name: 'monitor_training', arguments: { job_id: job.job_id, wait_s: 5 } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress), resetTimeoutOnProgress: true },
    );
    expect(waited.isError).toBeFalsy();
    const end = await waitFor(t, job.job_id, ended);
    expect(end.status).toBe('succeeded');
    expect(progress.length).toBeGreaterThan(0);
    expect(end.metrics.loss.step).toBe(12);
    expect(end.best_eval?.step).toBe(12);
    const firstPage = await t.callOk(monitorTrainingTool, { job_id: job.job_id, events_limit: 3 });
    const rest = await t.callOk(monitorTrainingTool, { job_id: job.job_id, events_cursor: firstPage.next_cursor });
    expect(firstPage.events).toHaveLength(3);
    expect(rest.events[0].seq).toBeGreaterThan(firstPage.events[2].seq);
    expect([...firstPage.events, ...rest.events].map((e) => e.seq)).toEqual(end.events.map((e) => e.seq));

    const withPlot = await t.call('monitor_training', { job_id: job.job_id, include_plot: true });
    const image = withPlot.content.find((c) => c.type === 'image') as { data: string; mimeType: string } | undefined;
    expect(image?.mimeType).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(image!.data, 'base64'));
    // The attached PNG is the rendering of the job's curves, whose SVG has the axes and legend.
    const { svg, png: expected } = await renderJobCurves(t.services.jobs.get(job.job_id), t.services.jobs.trainingCurves(job.job_id));
    expect(Buffer.from(image!.data, 'base64').equals(Buffer.from(expected))).toBe(true);
    expect(png.width).toBeGreaterThan(600);
    const texts = [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toEqual(expect.arrayContaining([`Training curves · ${job.job_id} (fake, succeeded)`, 'train loss', 'eval loss', 'loss', 'learning rate', 'step (optimizer updates)', '4', '8', '12']));
  });

  it('list_jobs filters by status and backend and pages; Prometheus counts runs by backend and status', async () => {
    const t = await connect([testBackendPlugin({ capabilities: { max_concurrent_jobs: 3 } })]);
    const ok1 = await startJob(t, { overrides: { max_steps: 3 } });
    const ok2 = await startJob(t, { overrides: { max_steps: 3 } });
    const bad = await startJob(t, { overrides: { max_steps: 5 }, backend_options: { fail_at_step: 2, fail_code: 'OUT_OF_MEMORY' } });
    for (const j of [ok1, ok2, bad]) await waitFor(t, j.job_id, ended);
    const failed = await t.callOk(listJobsTool, { status: 'failed' });
    expect(failed.jobs.map((j) => [j.job_id, j.error_code])).toEqual([[bad.job_id, 'OUT_OF_MEMORY']]);
    const page1 = await t.callOk(listJobsTool, { limit: 2 });
    const page2 = await t.callOk(listJobsTool, { limit: 2, offset: page1.next_offset! });
    expect([page1.total, page1.jobs.length, page2.jobs.length, page2.next_offset]).toEqual([3, 2, 1, null]);
    expect(new Set([...page1.jobs, ...page2.jobs].map((j) => j.job_id))).toEqual(new Set([ok1.job_id, ok2.job_id, bad.job_id]));
    expect((await t.callOk(listJobsTool, { backend: 'other' })).total).toBe(0);
    await t.services.jobs.tick();
    const text = await t.services.metrics.registry.metrics();
    expect(text).toMatch(/finetuning_runs_total\{backend="fake",status="succeeded"\} 2/);
    expect(text).toMatch(/finetuning_runs_total\{backend="fake",status="failed"\} 1/);
    expect(text).toMatch(/finetuning_duration_seconds_count\{backend="fake"\} 3/);
  });

  it('wait_s with an events cursor returns at the next event; Prometheus shows running jobs and their tokens/s', async () => {
    const t = await connect([testBackendPlugin()]);
    const job = await startJob(t, { overrides: { max_steps: 400, save_steps: 10 }, backend_options: { step_ms: 20 } });
    const running = await waitFor(t, job.job_id, (s) => s === 'running');
    // the cursor sits on the 'Training started' event, so the next event is the checkpoint at step 10
    const cursor = running.events.find((e) => e.type === 'progress')?.seq ?? (await waitFor(t, job.job_id, (_s, step) => step > 0)).events.find((e) => e.type === 'progress')!.seq;
    const started = Date.now();
    const next = await t.callOk(monitorTrainingTool, { job_id: job.job_id, wait_s: 20, events_cursor: cursor });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(next.events[0]).toMatchObject({ type: 'checkpoint', data: { step: 10 } });
    await t.services.jobs.tick();
    const text = await t.services.metrics.registry.metrics();
    expect(text).toContain('finetuning_running_jobs{backend="fake"} 1');
    expect(text).toContain(`finetuning_tokens_per_second{job_id="${job.job_id}"} 1000`);
    await t.call('cancel_training', { job_id: job.job_id });
  });

  it('resume refuses running and succeeded jobs and unknown checkpoints; cancel of an unknown job is NOT_FOUND', async () => {
    const t = await connect([testBackendPlugin()]);
    const job = await startJob(t, { overrides: { max_steps: 3 } });
    await waitFor(t, job.job_id, ended);
    const again = await t.call('resume_training', { job_id: job.job_id });
    expect((again._meta as { code: string }).code).toBe('STATE_CONFLICT');
    const cancelled = await startJob(t, { overrides: { max_steps: 400, save_steps: 2 } });
    await waitFor(t, cancelled.job_id, (s, step) => s === 'running' && step >= 3);
    await t.call('cancel_training', { job_id: cancelled.job_id });
    await waitFor(t, cancelled.job_id, ended);
    const missing = await t.call('resume_training', { job_id: cancelled.job_id, checkpoint: 999 });
    expect((missing._meta as { code: string }).code).toBe('NOT_FOUND');
    const named = await t.callOk(resumeTrainingTool, { job_id: cancelled.job_id, checkpoint: 2 });
    expect(named.resumed_from).toMatch(/step-2$/);
    await t.call('cancel_training', { job_id: cancelled.job_id });
    const unknown = await t.call('cancel_training', { job_id: 'job_nope' });
    expect((unknown._meta as { code: string }).code).toBe('NOT_FOUND');
  });
});
