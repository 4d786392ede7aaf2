import { afterAll, beforeAll, describe } from 'vitest';
import { openaiCompatiblePlugin } from '../../plugins/openai-compatible/index.js';
import { runBackendContract, type BackendContractOptions } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FAILING_SCRIPT, FakeOpenAI, trainingScript } from './fake-openai.js';

/** The same contract the OpenAI plugin passes, with the fine-tuning section a Nebius-like provider needs (LoRA, top-level hyperparameters). */
describe('openai-compatible fine-tuning backend contract (local fake of the files + fine_tuning jobs API)', () => {
  const fake = new FakeOpenAI('nb-test-key');
  const config: Record<string, unknown> = {};
  beforeAll(async () => {
    fake.stepMs = 40;
    fake.scriptFor = (body) => (body.suffix === 'contract-failure' ? FAILING_SCRIPT : trainingScript(45));
    config.plugins = {
      'openai-compatible': {
        base_url: await fake.start(),
        api_key_env: 'NEBIUS_API_KEY',
        max_retries: 1,
        fine_tuning: { provider: 'Nebius Token Factory', models: ['meta-llama/Meta-Llama-3.1-8B-Instruct'], lora: true, poll_interval_ms: 20, max_poll_interval_ms: 100 },
      },
    };
  });
  afterAll(() => fake.stop());

  runBackendContract(() => openaiCompatiblePlugin, {
    inputs: async (t) => ({ base_model: 'meta-llama/Meta-Llama-3.1-8B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env: { NEBIUS_API_KEY: fake.apiKey },
    // Read when the suite connects, after beforeAll has started the fake and filled in its URL.
    get config() {
      return config as BackendContractOptions['config'];
    },
    failure: { backend_options: { suffix: 'contract-failure' }, code: 'DATASET_INVALID' },
  });
});
