import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { migrateOpenAIFinetuneTool } from '../../tools/migrate-openai-finetune.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { FakeOpenAI } from './fake-openai.js';
import { chatRows } from './support.js';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('migrate_openai_finetune', () => {
  let fake: FakeOpenAI;
  let t: TestClient;

  beforeAll(async () => {
    fake = new FakeOpenAI();
    const url = await fake.start();
    t = await connectTestClient({ plugins: [openaiPlugin, testBackendPlugin({ mode: 'inprocess' })], env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: url } });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  it('downloads the job’s training file, prepares it, configures the same method and epochs on another backend, and starts it', async () => {
    const openaiJob = fake.seedJob({
      model: 'gpt-4o-mini-2024-07-18',
      training: jsonl(chatRows(60)),
      validation: jsonl(chatRows(8)),
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate_multiplier: 1.8 } } },
      seed: 1234,
    });
    const out = await t.callOk(migrateOpenAIFinetuneTool, { openai_job_id: openaiJob, base_model: 'tiny-test-model-1m', backend: 'fake', template: 'smoke' });
    expect(out.openai_job).toEqual({ id: openaiJob, status: 'succeeded', model: 'gpt-4o-mini-2024-07-18', fine_tuned_model: `ft:gpt-4o-mini-2024-07-18:org-test::${openaiJob}`, method: 'sft', n_epochs: 2, beta: null });
    expect(out.rows).toBe(60);
    expect(out.validation_dataset_id).toMatch(/^ds_/);
    expect(out.verdict).toBe('go');
    expect(out.job_id).toMatch(/^job_/);
    expect(out.parity.openai_model_uri).toBe(`openai:ft:gpt-4o-mini-2024-07-18:org-test::${openaiJob}`);
    expect(out.notes[0]).toMatch(/2027-01-06/);

    const config = t.services.jobs.jobLedger.getConfig(out.config_id);
    expect(config).toMatchObject({ method: 'sft', backend: 'fake', base_model: 'tiny-test-model-1m', dataset_id: out.dataset_id });
    expect(config.hyperparameters).toMatchObject({ epochs: 2, seed: 1234 });
    const rows = [];
    for await (const { row } of t.services.datasets.rows(out.dataset_id)) rows.push(row);
    expect(rows[0]).toMatchObject({ messages: chatRows(1)[0].messages });

    let status = '';
    for (let i = 0; i < 200 && !['succeeded', 'failed', 'cancelled'].includes(status); i++) {
      status = (await t.callOk(monitorTrainingTool, { job_id: out.job_id!, wait_s: 0.2 })).status;
    }
    expect(status).toBe('succeeded');
  });

  it('keeps DPO as DPO with its beta, and can stop after planning', async () => {
    const pairs = Array.from({ length: 30 }, (_, i) => ({
      input: { messages: [{ role: 'user', content: `Greet politely, take ${i}.` }] },
      preferred_output: [{ role: 'assistant', content: `Good day to you (${i}).` }],
      non_preferred_output: [{ role: 'assistant', content: `yo ${i}` }],
    }));
    const openaiJob = fake.seedJob({ model: 'gpt-4.1-mini-2025-04-14', training: jsonl(pairs), method: { type: 'dpo', dpo: { hyperparameters: { n_epochs: 1, beta: 0.25 } } } });
    const out = await t.callOk(migrateOpenAIFinetuneTool, { openai_job_id: openaiJob, base_model: 'tiny-test-model-1m', backend: 'fake', template: 'smoke', start: false });
    expect(out.openai_job).toMatchObject({ method: 'dpo', beta: 0.25, n_epochs: 1 });
    expect(out.job_id).toBeNull();
    expect(t.services.jobs.jobLedger.getConfig(out.config_id)).toMatchObject({ method: 'dpo', hyperparameters: expect.objectContaining({ dpo_beta: 0.25, epochs: 1 }) });
  });

  it('refuses to migrate onto openai itself and reports an unknown job', async () => {
    const self = await t.call('migrate_openai_finetune', { openai_job_id: 'ftjob-x', base_model: 'm', backend: 'openai' });
    expect(errorCode(self)).toBe('INVALID_INPUT');
    const missing = await t.call('migrate_openai_finetune', { openai_job_id: 'ftjob-nope', base_model: 'tiny-test-model-1m', backend: 'fake' });
    expect(errorCode(missing)).toBe('NOT_FOUND');
  });
});
