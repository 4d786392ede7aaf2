import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, signalWorker, workerAlive } from '../../src/training/cancel-signal.js';
import { JobLedger } from '../../src/training/ledger.js';
import { processStart } from '../../src/training/process-identity.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { listJobsTool } from '../../tools/list-jobs.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, startJob, waitFor } from './jobs-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An unrelated process that would die of a SIGTERM (node's default action), standing for whoever got a dead worker's pid. */
function bystander(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
}

describe('a worker is its pid and its start time: a reused pid is neither alive as the worker nor signalled', () => {
  const clients: TestClient[] = [];
  const homes: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('the worker dies and its pid goes to another process: the job is not shown running, and cancel leaves that process alone', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-pid-reuse-'));
    homes.push(home);
    const worker = testBackendPlugin({ mode: 'worker' });
    const first = await connectFast([worker], home);
    clients.push(first);
    const job = await startJob(first, { overrides: { max_steps: 400 }, backend_options: { step_ms: 40 } });
    const running = await waitFor(first, job.job_id, (s, step) => s === 'running' && step >= 1);
    const recorded = first.services.jobs.jobLedger.get(job.job_id);
    expect(recorded.worker_start).toBe(processStart(running.worker_pid));
    expect(recorded.worker_start).toMatch(/^linux:[\w-]+:\d+$/);
    await first.close();
    clients.splice(0);
    process.kill(running.worker_pid!, 'SIGKILL');
    for (let i = 0; i < 100 && processAlive(running.worker_pid); i++) await sleep(20);

    // The kernel hands the dead worker's pid to another process: the ledger now names a live pid whose start differs.
    const other = bystander();
    children.push(other);
    const workspace = Workspace.open({ root: home });
    workspace.db.prepare('UPDATE jobs SET worker_pid = ? WHERE job_id = ?').run(other.pid, job.job_id);
    const reused = new JobLedger(workspace.db).get(job.job_id);
    workspace.close();
    expect([reused.status, reused.worker_start]).toEqual(['running', recorded.worker_start]);
    expect(workerAlive(reused)).toBe(false);

    // A server starting now does not take the reused pid for the worker: the job is interrupted, not running forever.
    const third = await connectFast([worker], home, { watch_interval_ms: 60_000, cancel_grace_ms: 300 });
    clients.push(third);
    const seen = await third.callOk(monitorTrainingTool, { job_id: job.job_id });
    expect(seen.status).toBe('interrupted');
    const listed = await third.callOk(listJobsTool, {});
    expect(listed.jobs.find((j) => j.job_id === job.job_id)?.status).toBe('interrupted');

    // Running again with the reused pid (as a server that has not looked yet sees it): cancel sends it nothing.
    third.services.workspace.db.prepare("UPDATE jobs SET status = 'running' WHERE job_id = ?").run(job.job_id);
    const cancelled = await third.callOk(cancelTrainingTool, { job_id: job.job_id });
    expect(cancelled.status).toBe('cancelled');
    await sleep(100);
    expect([other.exitCode, other.signalCode]).toEqual([null, null]);
    expect(processAlive(other.pid)).toBe(true);
  });

  it('start identities: stable for a process, different for another, the same through /proc and ps, null for a dead pid', async () => {
    const a = bystander();
    const b = bystander();
    children.push(a, b);
    await sleep(50);
    expect(processStart(a.pid)).toBe(processStart(a.pid));
    expect(processStart(a.pid)).not.toBe(processStart(b.pid));
    const viaPs = processStart(a.pid, { proc: false });
    expect(viaPs).toMatch(/^ps:\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$/);
    expect(workerAlive({ worker_pid: a.pid!, worker_start: viaPs })).toBe(true);
    expect(workerAlive({ worker_pid: a.pid!, worker_start: processStart(b.pid) })).toBe(false);
    // A record without a start (older rows, no /proc and no ps) trusts the pid, as before.
    expect(workerAlive({ worker_pid: a.pid!, worker_start: null })).toBe(true);
    expect(signalWorker({ worker_pid: a.pid!, worker_start: processStart(b.pid) })).toBe(false);
    expect(processAlive(a.pid)).toBe(true);
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    expect(processStart(a.pid)).toBeNull();
  });
});
