import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pendingWebhooks } from '../../src/training/webhook.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

describe('budgets, guardrails and the webhook', () => {
  let t: TestClient;
  let server: Server | undefined;
  afterEach(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A local webhook receiver: every POSTed JSON body, in order. */
  async function webhookReceiver(): Promise<{ url: string; bodies: Array<Record<string, unknown>> }> {
    const bodies: Array<Record<string, unknown>> = [];
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.headers['content-type'] === 'application/json') bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, bodies };
  }

  it('a cost budget warns at 50/75/90/100 %, stops the job as BUDGET_EXCEEDED and posts each alert to the webhook', async () => {
    t = await connectFast([testBackendPlugin()]);
    const hook = await webhookReceiver();
    const job = await startJob(t, { overrides: { max_steps: 60 }, backend_options: { cost_per_step: 0.1 }, policy: { max_cost_usd: 1, webhook_url: hook.url } });
    const end = await waitFor(t, job.job_id, ended);
    expect([end.status, end.error_code]).toEqual(['failed', 'BUDGET_EXCEEDED']);
    expect(end.error_message).toMatch(/cost budget of 1 USD is used up/);
    const warnings = end.events.filter((e) => e.type === 'budget_warning').map((e) => e.data?.threshold);
    expect(warnings).toEqual([0.5, 0.75, 0.9, 1]);
    expect(end.events.some((e) => e.type === 'budget_exceeded')).toBe(true);
    expect(end.step).toBeLessThan(15); // stopped near step 10, far from 60
    await pendingWebhooks();
    expect(hook.bodies.map((b) => b.event)).toEqual(['budget_warning', 'budget_warning', 'budget_warning', 'budget_warning', 'budget_exceeded', 'job_ended']);
    expect(hook.bodies.at(-1)).toMatchObject({ status: 'failed', error_code: 'BUDGET_EXCEEDED' });
    expect(hook.bodies[0]).toMatchObject({ source: 'finetune-mcp', job_id: job.job_id, budget: 'cost', threshold: 0.5 });
    // Prometheus counts the stop (the "budget exceeded" alert of deployment_bundle reads it).
    await expect.poll(() => t.services.metrics.registry.getSingleMetricAsString('finetuning_budget_exceeded_total'), { timeout: 5000 }).toMatch(/budget="cost"} 1$/m);
  });

  it('a runtime budget stops a long job with TIMEOUT', async () => {
    // On a (pretend) H100 the plan's estimate is far under the budget, so only the running job meets it.
    t = await connectFast([testBackendPlugin({ capabilities: { devices: ['H100'] } })]);
    const job = await startJob(t, { overrides: { max_steps: 2000 }, policy: { max_runtime_s: 0.4 } });
    const end = await waitFor(t, job.job_id, ended);
    expect([end.status, end.error_code]).toEqual(['failed', 'TIMEOUT']);
    expect(end.events.filter((e) => e.type === 'budget_warning').map((e) => e.data?.budget)).toContain('runtime');
    expect(end.recovery).toBeTruthy();
  });

  it('a NaN loss stops the job as TRAINING_DIVERGED (guardrail on_nan: stop)', async () => {
    t = await connectFast([testBackendPlugin()]);
    const job = await startJob(t, { overrides: { max_steps: 200 }, backend_options: { nan_at_step: 3 } });
    const end = await waitFor(t, job.job_id, ended);
    expect([end.status, end.error_code]).toEqual(['failed', 'TRAINING_DIVERGED']);
    expect(end.events.find((e) => e.type === 'guardrail_stop')?.data?.rule).toBe('nan_loss');
    expect(end.step).toBeLessThan(10);
  });

  it('an exploding loss stops the job; a NaN with on_nan: warn only warns', async () => {
    t = await connectFast([testBackendPlugin()]);
    const exploding = await startJob(t, { overrides: { max_steps: 200 }, backend_options: { loss_decay: 1.5 }, policy: { guardrails: { explode_factor: 10 } } });
    const end = await waitFor(t, exploding.job_id, ended);
    expect(end.events.find((e) => e.type === 'guardrail_stop')?.data?.rule).toBe('exploding_loss');
    expect(end.error_code).toBe('TRAINING_DIVERGED');
    const warned = await startJob(t, { overrides: { max_steps: 8 }, backend_options: { nan_at_step: 3 }, policy: { guardrails: { on_nan: 'warn' } } });
    const done = await waitFor(t, warned.job_id, ended);
    expect(done.status).toBe('succeeded');
    expect(done.events.filter((e) => e.type === 'guardrail_warning').map((e) => e.data?.rule)).toEqual(['nan_loss']);
    expect(done.metrics.loss.value).not.toBeNull();
  });

  it('eval loss rising K evals in a row warns by default and stops when configured', async () => {
    t = await connectFast([testBackendPlugin()]);
    const rising = { eval_losses: [2, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1] };
    const warn = await startJob(t, { overrides: { max_steps: 8, eval_steps: 1 }, backend_options: rising });
    const a = await waitFor(t, warn.job_id, ended);
    expect(a.status).toBe('succeeded');
    const warning = a.events.find((e) => e.type === 'guardrail_warning');
    expect(warning?.data).toMatchObject({ rule: 'eval_loss_rising', step: 5 });
    expect(a.best_eval).toEqual({ step: 2, eval_loss: 1.5 });
    const stop = await startJob(t, { overrides: { max_steps: 8, eval_steps: 1 }, backend_options: rising, policy: { guardrails: { eval_rising_k: 2, on_eval_rising: 'stop' } } });
    const b = await waitFor(t, stop.job_id, ended);
    expect([b.status, b.error_code]).toEqual(['failed', 'TRAINING_DIVERGED']);
    const final = await t.callOk(monitorTrainingTool, { job_id: stop.job_id });
    expect(final.step).toBeLessThan(8);
  });
});
