import { afterEach, describe, expect, it } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { prepareTestDataset } from './datasets.js';
import { insertTestConfig, tempLedger } from './helpers.js';
import { connectFast, ended, waitFor } from './jobs-helpers.js';
import { defaultPolicy } from '../../src/training/config-schema.js';
import { JobLedger } from '../../src/training/ledger.js';
import { Workspace } from '../../src/workspace/workspace.js';

describe('start_training is idempotent: one plan, one job', () => {
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  });
  async function setup(max_steps = 200) {
    const t = await connectFast([testBackendPlugin({ capabilities: { max_concurrent_jobs: 4 } })]);
    clients.push(t);
    const config = await t.callOk(configureTrainingTool, {
      base_model: 'tiny-test-model-1m',
      dataset_id: await prepareTestDataset(t, { rows: 60 }),
      backend: 'fake',
      template: 'smoke',
      overrides: { max_steps },
      backend_options: { step_ms: 20 },
    });
    return { t, config_id: config.config_id };
  }

  it('two concurrent calls and a later retry with one plan give one job', async () => {
    const { t, config_id } = await setup();
    const { plan_id } = await t.callOk(planTrainingTool, { config_id });
    const [a, b] = await Promise.all([t.callOk(startTrainingTool, { plan_id }), t.callOk(startTrainingTool, { plan_id })]);
    expect(a.job_id).toBe(b.job_id);
    expect([a.existing, b.existing].sort()).toEqual([false, true]);
    const retry = await t.callOk(startTrainingTool, { plan_id });
    expect([retry.job_id, retry.existing]).toEqual([a.job_id, true]);
    expect(retry.note).toMatch(/already started job/);
    expect(t.services.jobs.jobLedger.list({}).total).toBe(1);
    await t.call('cancel_training', { job_id: a.job_id });
  });

  it('a plan whose job ended returns that job and says how to go on', async () => {
    const { t, config_id } = await setup();
    const { plan_id } = await t.callOk(planTrainingTool, { config_id });
    const first = await t.callOk(startTrainingTool, { plan_id });
    await waitFor(t, first.job_id, (s, step) => s === 'running' && step >= 2);
    await t.call('cancel_training', { job_id: first.job_id });
    await waitFor(t, first.job_id, ended);
    const again = await t.call('start_training', { plan_id });
    expect(again.isError).toBeFalsy();
    const out = again.structuredContent as { job_id: string; status: string; existing: boolean; note: string };
    expect([out.job_id, out.status, out.existing]).toEqual([first.job_id, 'cancelled', true]);
    expect(out.note).toMatch(/resume_training \{job_id: "job_/);
    expect(out.note).toMatch(/plan_training for a new plan/);
    expect(resultText(again)).toMatch(/no new job was created/);
    expect(t.services.jobs.jobLedger.list({}).total).toBe(1);
  });

  it('config_id with an idempotency_key: concurrent calls give one job; the key on another config is refused; no key starts anew', async () => {
    const { t, config_id } = await setup(3);
    const [a, b] = await Promise.all([
      t.callOk(startTrainingTool, { config_id, idempotency_key: 'nightly-1' }),
      t.callOk(startTrainingTool, { config_id, idempotency_key: 'nightly-1' }),
    ]);
    expect(a.job_id).toBe(b.job_id);
    await waitFor(t, a.job_id, ended);
    // The plan the config call made is the job's plan: starting that plan returns the same job.
    expect((await t.callOk(startTrainingTool, { plan_id: a.plan_id! })).job_id).toBe(a.job_id);
    const other = await t.callOk(configureTrainingTool, { base_model: 'tiny-test-model-1m', dataset_id: await prepareTestDataset(t, { rows: 60 }), backend: 'fake', template: 'smoke', overrides: { max_steps: 3 } });
    const clash = await t.call('start_training', { config_id: other.config_id, idempotency_key: 'nightly-1' });
    expect(errorCode(clash)).toBe('STATE_CONFLICT');
    const fresh = await t.callOk(startTrainingTool, { config_id });
    expect([fresh.existing, fresh.job_id === a.job_id]).toEqual([false, false]);
  });

  it('the ledger claims start keys in one transaction: a second connection (another process) gets the first job', () => {
    const { workspace, ledger, cleanup } = tempLedger();
    const second = Workspace.open({ root: workspace.root });
    try {
      const config_id = insertTestConfig(ledger);
      const input = { config_id, backend: 'fake', policy: defaultPolicy() as never };
      const one = ledger.createOnce(input, ['key:k1']);
      const two = new JobLedger(second.db).createOnce(input, ['key:k1']);
      expect([one.existing, two.existing, two.job.job_id]).toEqual([false, true, one.job.job_id]);
      // The key is a primary key: a row that would name a second job is refused by SQLite itself.
      expect(() => second.db.prepare("INSERT INTO job_starts (start_key, job_id, created_at) VALUES ('key:k1', ?, 'now')").run(one.job.job_id)).toThrow(/UNIQUE/);
    } finally {
      second.close();
      cleanup();
    }
  });

  it('a plan whose dataset was deleted since is refused at once, not queued as a job that fails at launch', async () => {
    const { t, config_id } = await setup();
    const { plan_id } = await t.callOk(planTrainingTool, { config_id });
    const dataset_id = t.services.jobs.jobLedger.getConfig(config_id).dataset_id;
    expect((await t.call('delete_dataset', { dataset_id })).isError).toBeFalsy();
    const refused = await t.call('start_training', { plan_id });
    expect(errorCode(refused)).toBe('NOT_FOUND');
    expect(resultText(refused)).toMatch(new RegExp(`dataset ${dataset_id}.*no longer exists[\\s\\S]*configure_training`));
    expect(t.services.workspace.db.prepare('SELECT COUNT(*) FROM jobs').pluck().get()).toBe(0);
  });
});

