/**
 * What a job's evidence looks like to an agent: evaluate_model on a job (its dataset's test split by
 * default), small results unless detail is asked for, and log_experiment carrying the evaluations.
 * Model: stories260K (llama2.c's test model, MIT; assets/models/stories260K/SOURCE.md).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { compareExperimentsTool } from '../../tools/compare-experiments.js';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { makeSucceededJob, writeDatasetVersion } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TEST_ROWS = [
  { prompt: 'Once upon a time,', completion: ' there was a little girl named Lily.' },
  { prompt: 'One day, Tom went to the park.', completion: ' He saw a big dog.' },
  { prompt: 'The sun was shining.', completion: ' Mia wanted to play outside.' },
];

describe('a job and its evaluations', () => {
  let t: TestClient;
  let jobId: string;
  let modelId: string;
  beforeAll(async () => {
    t = await connectTestClient({ config: { evaluation: { gates: [], bootstrap_samples: 0, bootstrap_seed: 1 } } });
    const { model } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') });
    modelId = model.id;
    writeDatasetVersion(t.services, 'ds_job_eval', 'f'.repeat(64), { test: TEST_ROWS, task_type: 'completion' });
    jobId = makeSucceededJob(t.services, { dataset_id: 'ds_job_eval', base_model: model.id, kv_dim: 32, seed: 5 });
  });
  afterAll(async () => t?.close());

  it('log_experiment {job_id} records the job\'s evaluations (metrics and record folders)', async () => {
    const evaluation = await t.callOk(evaluateModelTool, { job_id: jobId, dataset_id: 'ds_job_eval', metrics: ['perplexity', 'chrf'], max_new_tokens: 6 });
    const { run } = await t.callOk(logExperimentTool, { experiment: 'evidence', job_id: jobId });
    expect(run.metrics.perplexity).toBe(evaluation.metrics.perplexity);
    expect(run.metrics.chrf).toBe(evaluation.metrics.chrf);
    expect(run.metrics.loss).toBe(1.4);
    expect(run.artifacts[evaluation.evaluation_id]).toContain(evaluation.evaluation_id);
    // compare_experiments on the job itself sees the same evidence.
    const compared = await t.callOk(compareExperimentsTool, { job_ids: [jobId] });
    expect(compared.metrics.find((m) => m.metric === 'perplexity')).toMatchObject({ values: [evaluation.metrics.perplexity], direction: 'lower' });
  });

  it('evaluate_model {job_id} without dataset_id scores the test split of the dataset the job trained on', async () => {
    const out = await t.callOk(evaluateModelTool, { job_id: jobId, metrics: ['perplexity'] });
    expect(out.dataset).toBe('ds_job_eval/test');
    expect(out.dataset_hash).toBe('f'.repeat(64));
    expect(out.examples).toBe(TEST_ROWS.length);
    // A version registered from the job knows the same dataset through its lineage.
    await t.callOk(registerModelTool, { name: 'evidence-bot', version: '1.0.0', job_id: jobId });
    expect((await t.callOk(evaluateModelTool, { version: 'evidence-bot@1.0.0', metrics: ['perplexity'] })).dataset).toBe('ds_job_eval/test');
    // A dataset without a test split: every row trained the job, so no flattering default.
    writeDatasetVersion(t.services, 'ds_no_test', '0'.repeat(64), { test: [], task_type: 'completion' });
    const untested = makeSucceededJob(t.services, { dataset_id: 'ds_no_test', base_model: modelId, kv_dim: 32 });
    const refused = await t.call('evaluate_model', { job_id: untested, metrics: ['perplexity'] });
    expect(errorCode(refused)).toBe('DATASET_INVALID');
    expect(resultText(refused)).toMatch(/no test split[\s\S]*split_dataset/);
    // A base model knows no dataset: the caller still names one.
    expect(errorCode(await t.call('evaluate_model', { model_id: modelId, metrics: ['perplexity'] }))).toBe('INVALID_INPUT');
  });

  it('keeps the result small by default (3 samples, texts cut) and gives detail on request', async () => {
    const long = (i: number) => ({ prompt: `Once upon a time, story ${i}: ${'Lily went to the park and saw a dog. '.repeat(12)}`, completion: ` ${'They played all day in the sun. '.repeat(25)}` });
    writeDatasetVersion(t.services, 'ds_long', '1'.repeat(64), { test: Array.from({ length: 8 }, (_, i) => long(i)), task_type: 'completion' });
    const args = { model_id: modelId, dataset_id: 'ds_long', metrics: ['perplexity', 'chrf'], max_new_tokens: 6 };
    const small = await t.call('evaluate_model', args);
    const detailed = await t.call('evaluate_model', { ...args, detail: true });
    const bytes = (r: typeof small) => Buffer.byteLength(JSON.stringify(r.structuredContent));
    const smallOut = z.object(evaluateModelTool.output).parse(small.structuredContent);
    const detailOut = z.object(evaluateModelTool.output).parse(detailed.structuredContent);
    expect(smallOut.per_example).toBeUndefined();
    expect(smallOut.samples).toHaveLength(3);
    expect(smallOut.samples[0].reference.length).toBeLessThanOrEqual(201);
    expect(detailOut.per_example).toHaveLength(8);
    expect(detailOut.samples[0].reference).toBe(long(0).completion);
    expect(bytes(small)).toBeLessThan(2500);
    expect(bytes(detailed)).toBeGreaterThan(4 * bytes(small));
    console.error(`evaluate_model structured result: ${bytes(small)} B by default, ${bytes(detailed)} B with detail (8 rows of ~1.2 KB)`);
    expect((await t.callOk(evaluateModelTool, { ...args, samples: 0 })).samples).toEqual([]);
  });
});
