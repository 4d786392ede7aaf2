/**
 * What a job's evidence looks like to an agent: evaluate_model on a job (its dataset's test split by
 * default), small results unless detail is asked for, and log_experiment carrying the evaluations.
 * Model: stories260K (llama2.c's test model, MIT; assets/models/stories260K/SOURCE.md).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { compareExperimentsTool } from '../../tools/compare-experiments.js';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
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
  beforeAll(async () => {
    t = await connectTestClient({ config: { evaluation: { gates: [], bootstrap_samples: 0, bootstrap_seed: 1 } } as never });
    const { model } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') });
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
});
