import { afterAll, beforeAll, describe } from 'vitest';
import { rayPlugin } from '../../plugins/ray/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeRay } from './fake-ray.js';

describe('ray backend contract (local fake of the Ray Jobs REST API)', () => {
  const fake = new FakeRay();
  const env: Record<string, string> = {};
  beforeAll(async () => {
    env.RAY_ADDRESS = await fake.start();
    env.RAY_AUTH_TOKEN = fake.token;
    fake.stepMs = 40;
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 2, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
  });
  afterAll(() => fake.stop());

  runBackendContract(() => rayPlugin, {
    inputs: async (t) => ({ base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env,
    config: { plugins: { ray: { poll_interval_ms: 20, max_poll_interval_ms: 100, max_retries: 1 } } },
    failure: { backend_options: { simulate: 'oom' }, code: 'OUT_OF_MEMORY' },
  });
});
