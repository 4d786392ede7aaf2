import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from '../training/datasets.js';

describe('plan_training on an OpenAI config', () => {
  let t: TestClient;
  beforeAll(async () => {
    // No request reaches OpenAI while planning: the key only enables the plugin.
    t = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: 'sk-unused', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
  });
  afterAll(() => t.close());

  it('carries OpenAI’s deprecation notice and its own pre-flight rules', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const config = await t.callOk(configureTrainingTool, { base_model: 'gpt-4o-mini-2024-07-18', dataset_id, backend: 'openai', approach: 'full', method: 'sft' });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict).toBe('go');
    expect(plan.reasons.join('\n')).toMatch(/Warning \[BACKEND_DEPRECATED\]: OpenAI stops accepting new fine-tuning jobs after 2027-01-06/);

    const tiny = await prepareTestDataset(t, { rows: 8 });
    const small = await t.callOk(configureTrainingTool, { base_model: 'gpt-4o-mini-2024-07-18', dataset_id: tiny, backend: 'openai', approach: 'full', method: 'sft' });
    const refused = await t.callOk(planTrainingTool, { config_id: small.config_id });
    expect(refused.verdict).toBe('no_go');
    expect(refused.reasons.join('\n')).toMatch(/DATASET_INVALID.*OpenAI needs at least 10 training examples; the train split of ds_\w+ has \d\b/);
  });
});
