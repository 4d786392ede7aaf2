import { afterAll, beforeAll, describe } from 'vitest';
import { modalPlugin } from '../../plugins/modal/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeModal } from './fake-modal.js';

describe('modal backend contract (local fake of the finetune-mcp Modal app)', () => {
  const fake = new FakeModal();
  const env: Record<string, string> = {};
  beforeAll(async () => {
    env.MODAL_ENDPOINT_URL = await fake.start();
    env.MODAL_TOKEN_ID = fake.tokenId;
    env.MODAL_TOKEN_SECRET = fake.tokenSecret;
    fake.stepMs = 40;
    fake.steps = 45;
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 2, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
  });
  afterAll(() => fake.stop());

  runBackendContract(() => modalPlugin, {
    inputs: async (t) => ({ base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env,
    config: { plugins: { modal: { poll_interval_ms: 20, max_poll_interval_ms: 100, max_retries: 1 } } },
    failure: { backend_options: { simulate: 'oom' }, code: 'OUT_OF_MEMORY' },
  });
});
