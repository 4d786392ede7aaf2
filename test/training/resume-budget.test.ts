import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { resumeTrainingTool } from '../../tools/resume-training.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resume_training: checkpoints that exist, budgets that count running time', () => {
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  });

  it('a removed checkpoint is not listed and resuming from it is refused at once', async () => {
    const t = await connectFast([testBackendPlugin()]);
    clients.push(t);
    const job = await startJob(t, { overrides: { max_steps: 400, save_steps: 2 } });
    await waitFor(t, job.job_id, (s, step) => s === 'running' && step >= 7);
    await t.call('cancel_training', { job_id: job.job_id });
    const stopped = await waitFor(t, job.job_id, ended);
    const [first, second] = stopped.checkpoints;
    rmSync(first.path, { recursive: true }); // what save_total_limit does to older checkpoints
    const seen = await t.callOk(monitorTrainingTool, { job_id: job.job_id });
    expect(seen.checkpoints.map((c) => c.step)).not.toContain(first.step);
    expect(seen.checkpoints[0].step).toBe(second.step);
    const refused = await t.call('resume_training', { job_id: job.job_id, checkpoint: first.step });
    expect(errorCode(refused)).toBe('NOT_FOUND');
    expect(resultText(refused)).toMatch(new RegExp(`step ${first.step} .* no longer exists .*Existing checkpoints: step ${second.step}`));
    expect(t.services.jobs.jobLedger.get(job.job_id).status).toBe('cancelled'); // nothing was queued
    const ok = await t.callOk(resumeTrainingTool, { job_id: job.job_id, checkpoint: second.step });
    expect(ok.resumed_from).toBe(second.path);
    await t.call('cancel_training', { job_id: job.job_id });
  });

  it('a job stopped by its runtime budget resumes with a new budget; idle time between attempts is not counted', async () => {
    const t = await connectFast([testBackendPlugin({ capabilities: { devices: ['H100'] } })]);
    clients.push(t);
    const job = await startJob(t, { overrides: { max_steps: 5000, save_steps: 5 }, policy: { max_runtime_s: 0.5 } });
    const first = await waitFor(t, job.job_id, ended);
    expect([first.status, first.error_code]).toEqual(['failed', 'TIMEOUT']);
    await sleep(2000); // idle: not running, so not spent
    const idle = await t.callOk(monitorTrainingTool, { job_id: job.job_id });
    expect(idle.run_s).toBeGreaterThanOrEqual(0.5);
    expect(idle.run_s).toBeLessThan(1.5);
    // Without a higher budget the resumed job would stop at once: refused, with the figure to beat.
    const refused = await t.call('resume_training', { job_id: job.job_id });
    expect(errorCode(refused), `${resultText(refused)} run_s ${idle.run_s}`).toBe('BUDGET_EXCEEDED');
    expect(resultText(refused)).toMatch(/max_runtime_s above \d/);
    const resumed = await t.callOk(resumeTrainingTool, { job_id: job.job_id, max_runtime_s: idle.run_s + 1 });
    expect([resumed.attempt, resumed.max_runtime_s]).toEqual([2, idle.run_s + 1]);
    const second = await waitFor(t, job.job_id, ended);
    expect([second.status, second.error_code]).toEqual(['failed', 'TIMEOUT']);
    // The second attempt ran about one more second (not cut short by the 2 s of idle time).
    expect(second.step).toBeGreaterThan(first.step);
    expect(second.run_s).toBeGreaterThanOrEqual(idle.run_s + 1);
    expect(second.run_s).toBeLessThan(idle.run_s + 2);
    const warned = second.events.filter((e) => e.type === 'budget_warning' && (e.data?.limit as number) > 0.5).map((e) => e.data?.threshold);
    expect(warned).toEqual([0.5, 0.75, 0.9, 1]); // the new budget warns at its own thresholds
    expect(second.events.some((e) => e.type === 'budget_changed')).toBe(true);
  });
});
