import { afterAll, beforeAll, describe } from 'vitest';
import { togetherPlugin } from '../../plugins/together/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeTogether, type TogetherStep } from './fake-together.js';

/** A run as Together reports one: pending, queued, training steps with metrics snapshots, upload, completed. */
function trainingScript(steps: number): TogetherStep[] {
  return [
    { status: 'pending', events: [{ message: 'Fine tune request created', type: 'job_pending' }] },
    { status: 'queued' },
    ...Array.from({ length: steps }, (_, i) => ({
      status: 'running',
      metrics: [{ timestamp: i, 'train/global_step': i + 1, 'train/loss': 2 / (1 + 0.1 * i), 'train/learning_rate': 1e-5 }],
      ...((i + 1) % 10 === 0 ? { checkpoints: [{ step: i + 1, path: `user/model-step-${i + 1}` }] } : {}),
    })),
    { status: 'uploading' },
    { status: 'completed', events: [{ message: 'Job finished', type: 'job_complete' }] },
  ];
}

const failing: TogetherStep[] = [
  { status: 'pending' },
  { status: 'error', events: [{ message: 'Training failed: invalid file format on line 3', type: 'job_error', level: 'error' }] },
];

describe('together backend contract (local fake Together API)', () => {
  const fake = new FakeTogether();
  const env: Record<string, string> = {};
  beforeAll(async () => {
    env.TOGETHER_BASE_URL = await fake.start();
    env.TOGETHER_API_KEY = fake.apiKey;
    fake.stepMs = 40;
    fake.scriptFor = (body) => (body.suffix === 'contract-failure' ? failing : trainingScript(45));
  });
  afterAll(() => fake.stop());

  runBackendContract(() => togetherPlugin, {
    inputs: async (t) => ({ base_model: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env,
    config: { plugins: { together: { poll_interval_ms: 20, max_poll_interval_ms: 100, max_retries: 1 } } },
    failure: { backend_options: { suffix: 'contract-failure' }, code: 'DATASET_INVALID' },
  });
});
