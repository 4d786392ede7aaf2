import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/training/config-schema.js';
import { JobLedger } from '../../src/training/ledger.js';
import { jobAlerts } from '../../src/training/webhook.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { insertTestConfig } from './helpers.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';
import { receiver, type Receiver } from './webhook-receiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhook alerts are delivered at least once (workspace outbox)', () => {
  const clients: TestClient[] = [];
  const receivers: Receiver[] = [];
  const homes: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const r of receivers.splice(0)) await r.close();
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });

  it('a worker job stopped by its budget: every alert, the stop and the end included, arrives; a failing receiver is retried; monitor_training shows the log', async () => {
    const hook = await receiver(2);
    receivers.push(hook);
    const t = await connectFast([testBackendPlugin({ mode: 'worker' })], undefined, { alert_retry_ms: 50 });
    clients.push(t);
    const job = await startJob(t, { overrides: { max_steps: 60 }, backend_options: { cost_per_step: 0.1, step_ms: 20 }, policy: { max_cost_usd: 1, webhook_url: hook.url } });
    const end = await waitFor(t, job.job_id, ended);
    expect([end.status, end.error_code], JSON.stringify(end.events.map((e) => [e.type, e.message]))).toEqual(['failed', 'BUDGET_EXCEEDED']);
    let seen = await t.callOk(monitorTrainingTool, { job_id: job.job_id });
    for (let i = 0; i < 100 && seen.alerts!.some((a) => a.status !== 'delivered'); i++) {
      await sleep(50);
      seen = await t.callOk(monitorTrainingTool, { job_id: job.job_id });
    }
    const events = ['budget_warning', 'budget_warning', 'budget_warning', 'budget_warning', 'budget_exceeded', 'job_ended'];
    expect(seen.alerts!.map((a) => [a.event, a.status])).toEqual(events.map((e) => [e, 'delivered']));
    expect(seen.alerts![0]).toMatchObject({ attempts: 3, last_error: 'HTTP 503' });
    // At least once: dedupe on alert_id, and each arrived in order.
    const unique = [...new Map(hook.bodies.map((b) => [b.alert_id, b])).values()];
    expect(unique.map((b) => b.event)).toEqual(events);
    expect(unique.at(-1)).toMatchObject({ source: 'finetune-mcp', job_id: job.job_id, status: 'failed', error_code: 'BUDGET_EXCEEDED' });
    expect(unique[4]).toMatchObject({ budget: 'cost', limit: 1 });
    // The delivery log names every attempt and the process that made it.
    const log = jobAlerts(t.services.workspace.db, job.job_id)[0].deliveries;
    expect(log.map((d) => [d.attempt, d.ok, d.http_status])).toEqual([[1, false, 503], [2, false, 503], [3, true, 204]]);
  });

  it('alerts left pending (the receiver was down when the worker exited) are sent by the next server to start', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-outbox-'));
    homes.push(home);
    const hook = await receiver();
    receivers.push(hook);
    // What a worker leaves behind: an ended job whose alerts are still in the outbox.
    const workspace = Workspace.open({ root: home });
    const ledger = new JobLedger(workspace.db);
    const config_id = insertTestConfig(ledger, 'fake', { webhook_url: hook.url });
    const job = ledger.create({ config_id, backend: 'fake', policy: { ...defaultPolicy(), webhook_url: hook.url } as never });
    ledger.transition(job.job_id, 'running');
    ledger.appendEvent(job.job_id, 'guardrail_stop', 'Stopped by guardrail nan_loss.', { rule: 'nan_loss' }, 'error');
    ledger.transition(job.job_id, 'failed', { error_code: 'TRAINING_DIVERGED', message: 'diverged' });
    workspace.close(); // before the deliverer's first round: nothing was sent
    expect(hook.hits).toBe(0);

    const t = await connectFast([testBackendPlugin()], home);
    clients.push(t);
    // At least once: a POST that timed out after the receiver read it is sent again, so receivers dedupe on alert_id (as here).
    const delivered = () => [...new Map(hook.bodies.map((b) => [b.alert_id, b])).values()];
    for (let i = 0; i < 100 && delivered().length < 2; i++) await sleep(20);
    expect(delivered().map((b) => [b.event, b.job_id])).toEqual([['guardrail_stop', job.job_id], ['job_ended', job.job_id]]);
    expect(delivered()[1]).toMatchObject({ status: 'failed', error_code: 'TRAINING_DIVERGED' });
  });
});
