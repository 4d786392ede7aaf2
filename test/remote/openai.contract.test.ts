import { afterAll, beforeAll, describe } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FAILING_SCRIPT, FakeOpenAI, trainingScript } from './fake-openai.js';

describe('openai backend contract (local fake OpenAI API)', () => {
  const fake = new FakeOpenAI();
  const env: Record<string, string> = {};
  beforeAll(async () => {
    env.OPENAI_BASE_URL = await fake.start();
    env.OPENAI_API_KEY = fake.apiKey;
    fake.stepMs = 40;
    fake.scriptFor = (body) => (body.suffix === 'contract-failure' ? FAILING_SCRIPT : trainingScript(45));
  });
  afterAll(() => fake.stop());

  runBackendContract(() => openaiPlugin, {
    inputs: async (t) => ({ base_model: 'gpt-4o-mini-2024-07-18', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'full',
    restart: 'continue',
    env,
    config: { plugins: { openai: { poll_interval_ms: 20, max_poll_interval_ms: 100, max_retries: 1 } } },
    failure: { backend_options: { suffix: 'contract-failure' }, code: 'DATASET_INVALID' },
  });
});
