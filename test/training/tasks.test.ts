import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { prepareTestDataset } from './datasets.js';
import { connectFast } from './jobs-helpers.js';

async function goPlan(t: TestClient, overrides: Record<string, unknown>, backend_options: Record<string, unknown> = {}) {
  const config = await t.callOk(configureTrainingTool, { base_model: 'tiny-test-model-1m', dataset_id: await prepareTestDataset(t, { rows: 60 }), backend: 'fake', template: 'smoke', overrides, backend_options });
  return (await t.callOk(planTrainingTool, { config_id: config.config_id })).plan_id;
}

describe('start_training as an MCP task', () => {
  const clients: TestClient[] = [];
  const homes: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });

  it('a task call returns at once with the job id as task id, and its result is the ended job', async () => {
    const t = await connectFast([testBackendPlugin()]);
    clients.push(t);
    const plan_id = await goPlan(t, { max_steps: 6 });
    const kinds: string[] = [];
    let taskId = '';
    let final: { structuredContent?: Record<string, unknown>; isError?: boolean } | undefined;
    for await (const message of t.client.experimental.tasks.callToolStream({ name: 'start_training', arguments: { plan_id } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
      kinds.push(message.type);
      if (message.type === 'taskCreated') taskId = message.task.taskId;
      if (message.type === 'result') final = message.result as typeof final;
      if (message.type === 'error') throw message.error;
    }
    expect(kinds[0]).toBe('taskCreated');
    expect(taskId).toMatch(/^job_/);
    expect(final?.isError).toBeFalsy();
    expect(final?.structuredContent).toMatchObject({ job_id: taskId, status: 'succeeded' });
    expect(t.services.jobs.jobLedger.get(taskId).status).toBe('succeeded');
    // A plain call of the same tool still answers at once with the queued or running job.
    const plain = await t.callOk(startTrainingTool, { plan_id: await goPlan(t, { max_steps: 200 }) });
    expect(['queued', 'preparing', 'running']).toContain(plain.status);
  });

  it('tasks live in the ledger: a restarted server answers tasks/get, and tasks/cancel cancels the job', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-tasks-'));
    homes.push(home);
    const worker = testBackendPlugin({ mode: 'worker' });
    const first = await connectFast([worker], home);
    clients.push(first);
    const plan_id = await goPlan(first, { max_steps: 400 }, { step_ms: 30 });
    const created = await first.client.request(
      { method: 'tools/call', params: { name: 'start_training', arguments: { plan_id }, task: { ttl: 60_000 } } },
      (await import('@modelcontextprotocol/sdk/experimental/tasks/types.js')).CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    await first.close();
    clients.splice(0);

    const second = await connectFast([worker], home);
    clients.push(second);
    const seen = await second.client.experimental.tasks.getTask(taskId);
    expect(seen.status).toBe('working');
    const listed = await second.client.experimental.tasks.listTasks();
    expect(listed.tasks.map((task) => task.taskId)).toContain(taskId);
    const cancelled = await second.client.experimental.tasks.cancelTask(taskId);
    expect(cancelled.status).toBe('cancelled');
    for (let i = 0; i < 100 && second.services.jobs.jobLedger.get(taskId).status !== 'cancelled'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(second.services.jobs.jobLedger.get(taskId).status).toBe('cancelled');
  });

  it('a task keeps the ttl the client asked for, and its pollInterval follows the plan\'s estimated duration', async () => {
    const t = await connectFast([testBackendPlugin()]);
    clients.push(t);
    const { CreateTaskResultSchema } = await import('@modelcontextprotocol/sdk/experimental/tasks/types.js');
    const create = async (plan_id: string, ttl?: number) =>
      (await t.client.request({ method: 'tools/call', params: { name: 'start_training', arguments: { plan_id }, task: ttl === undefined ? {} : { ttl } } }, CreateTaskResultSchema)).task;
    // 8000 steps: the plan estimates tens of seconds or more on the CPU; 4 steps: under 10 s, so the 0.5 s floor.
    const slow = await create(await goPlan(t, { max_steps: 8000 }, { step_ms: 30 }), 90_000);
    const slowPlan = t.services.jobs.jobLedger.getPlan(t.services.jobs.jobLedger.get(slow.taskId).plan_id!);
    const estimated_s = (slowPlan.estimate as { time: { value: number } }).time.value;
    expect(estimated_s).toBeGreaterThan(20);
    expect(slow.ttl).toBe(90_000);
    expect(slow.pollInterval).toBe(Math.min(30_000, Math.round((estimated_s * 1000) / 20)));
    expect((await t.client.experimental.tasks.getTask(slow.taskId)).ttl).toBe(90_000);
    await t.client.experimental.tasks.cancelTask(slow.taskId);
    const fast = await create(await goPlan(t, { max_steps: 4 }));
    expect([fast.ttl, fast.pollInterval]).toEqual([null, 500]);
    // A task past its ttl no longer exists (its job does).
    const brief = await create(await goPlan(t, { max_steps: 4 }), 1000);
    expect((await t.client.experimental.tasks.getTask(brief.taskId)).ttl).toBe(1000);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(t.client.experimental.tasks.getTask(brief.taskId)).rejects.toThrow();
    expect(t.services.jobs.jobLedger.find(brief.taskId)).toBeDefined();
  });

  it('a task start of a plan that already started a job follows that job, and its result says so', async () => {
    const t = await connectFast([testBackendPlugin()]);
    clients.push(t);
    const plan_id = await goPlan(t, { max_steps: 4 });
    const first = await t.callOk(startTrainingTool, { plan_id });
    let taskId = '';
    let final: { structuredContent?: Record<string, unknown> } | undefined;
    for await (const message of t.client.experimental.tasks.callToolStream({ name: 'start_training', arguments: { plan_id } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
      if (message.type === 'taskCreated') taskId = message.task.taskId;
      if (message.type === 'result') final = message.result as typeof final;
      if (message.type === 'error') throw message.error;
    }
    expect(taskId).not.toBe(first.job_id);
    expect(final?.structuredContent).toMatchObject({ job_id: first.job_id, status: 'succeeded', existing: true });
    expect(t.services.jobs.jobLedger.list({}).total).toBe(1);
  });
});
