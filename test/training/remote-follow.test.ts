import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/training/cancel-signal.js';
import type { TestClient } from '../helpers/mcp.js';
import { FakeProvider, testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

describe('remote jobs have one follower at a time', () => {
  const clients: TestClient[] = [];
  const homes: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });

  it('a server leaves a remote job to the live server that follows it, and takes it over when that one exits', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-follow-'));
    homes.push(home);
    const remote = testBackendPlugin({ mode: 'remote' });
    const first = await connectFast([remote], home);
    const job = await startJob(first, { overrides: { max_steps: 60 }, backend_options: { step_ms: 30 } });
    await waitFor(first, job.job_id, (s, step) => s === 'running' && step >= 3);
    expect(first.services.jobs.jobLedger.get(job.job_id).worker_pid).toBe(process.pid);
    await first.close();
    FakeProvider.detachAll();

    // Pretend another server process follows the job: a live process that is not this one.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    const second = await connectFast([remote], home);
    clients.push(second);
    const ledger = second.services.jobs.jobLedger;
    ledger.update(job.job_id, { worker_pid: other.pid });
    // A third server starting now must not attach a second follower.
    const third = await connectFast([remote], home);
    clients.push(third);
    expect(ledger.eventsSince(job.job_id, 0, 1000).events.filter((e) => e.type === 'reattached')).toHaveLength(1);

    other.kill('SIGKILL');
    for (let i = 0; i < 100 && processAlive(other.pid); i++) await new Promise((r) => setTimeout(r, 20));
    const end = await waitFor(third, job.job_id, ended);
    expect(end.status).toBe('succeeded');
    expect(end.step).toBe(60);
    const reattached = end.events.filter((e) => e.type === 'reattached');
    expect(reattached.length).toBe(2);
  });
});
