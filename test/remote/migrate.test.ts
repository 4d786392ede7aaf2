import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
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
    // Credentials in the plugin's config section: the training API and the chat completions that score the OpenAI model both read them.
    t = await connectTestClient({ plugins: [openaiPlugin, testBackendPlugin({ mode: 'inprocess' })], config: { plugins: { openai: { api_key: fake.apiKey, base_url: url, max_retries: 0 } } } });
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
    // The validation file is the held-out set: OpenAI never trained on it, and neither does the new model.
    expect(out.train_rows).toBe(60);
    expect(out.parity.held_out).toEqual({ dataset_id: out.validation_dataset_id, split: null, rows: 8, source: 'openai_validation_file', seen_by_openai: false });
    expect(out.parity.openai).toMatchObject({ model: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${openaiJob}`, examples: 8 });
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

  it('holds out a test split when the job had no validation file and reports parity as numbers on it', async () => {
    const openaiJob = fake.seedJob({ model: 'gpt-4o-mini-2024-07-18', training: jsonl(chatRows(60)), method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1 } } }, seed: 7 });
    const out = await t.callOk(migrateOpenAIFinetuneTool, { openai_job_id: openaiJob, base_model: 'tiny-test-model-1m', backend: 'fake', template: 'smoke' });
    expect(out.rows).toBe(60);
    const counts = t.services.datasets.get(out.dataset_id).manifest.counts;
    expect(counts).toMatchObject({ rows: 60, test: out.parity.held_out!.rows });
    expect(out.train_rows).toBe(counts.train);
    expect(out.train_rows + out.parity.held_out!.rows).toBe(60);
    expect(out.parity.held_out!.rows).toBeGreaterThanOrEqual(4);
    expect(out.parity.held_out).toMatchObject({ dataset_id: out.dataset_id, split: 'test', source: 'test_split', seen_by_openai: true });
    expect(t.services.jobs.jobLedger.getConfig(out.config_id).dataset_id).toBe(out.dataset_id);
    expect(out.parity.notes.join(' ')).toMatch(/upper bound/);
    // Numbers, not prose: the OpenAI model's scores on exactly those rows, as evaluate_model gives them.
    const uri = `openai:ft:gpt-4o-mini-2024-07-18:org-test::${openaiJob}`;
    expect(Object.keys(out.parity.openai!.metrics).sort()).toEqual(['chrf', 'exact_match', 'f1', 'rouge_l']);
    const direct = await t.callOk(evaluateModelTool, { model_id: uri, dataset_id: out.dataset_id, split: 'test', metrics: out.parity.metrics, max_new_tokens: out.parity.max_new_tokens });
    expect(out.parity.openai!.metrics).toEqual(direct.metrics);
    expect(out.parity.openai!.examples).toBe(out.parity.held_out!.rows);
    // The same rows and metrics for the new model, once its job succeeded.
    expect(out.parity.compare_models).toEqual({
      models: [{ model_id: uri, label: 'openai' }, { job_id: out.job_id, label: 'migrated' }],
      baseline: 'openai',
      dataset_id: out.dataset_id,
      split: 'test',
      max_examples: 100,
      metrics: out.parity.metrics,
      max_new_tokens: out.parity.max_new_tokens,
    });
    // test_ratio 0 trains on every row and says parity cannot be measured.
    const all = await t.callOk(migrateOpenAIFinetuneTool, { openai_job_id: openaiJob, base_model: 'tiny-test-model-1m', backend: 'fake', template: 'smoke', test_ratio: 0, start: false });
    expect(all).toMatchObject({ train_rows: 60, parity: { held_out: null, openai: null, compare_models: null } });
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
