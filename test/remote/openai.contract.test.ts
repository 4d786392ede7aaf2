import { afterAll, beforeAll, describe } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeOpenAI, type ScriptStep } from './fake-openai.js';

/** A run as the OpenAI API reports one: validation, queue, one metrics event per step, checkpoints, success. */
function trainingScript(steps: number): ScriptStep[] {
  return [
    { status: 'validating_files' },
    { status: 'queued' },
    ...Array.from({ length: steps }, (_, i) => ({
      status: 'running',
      events: [{ message: `Step ${i + 1}/${steps}: training loss=${(2 / (1 + 0.1 * i)).toFixed(2)}`, type: 'metrics' as const, data: { step: i + 1, train_loss: 2 / (1 + 0.1 * i), total_steps: steps } }],
      ...((i + 1) % 10 === 0 ? { checkpoints: [{ step: i + 1, metrics: { step: i + 1, train_loss: 2 / (1 + 0.1 * i) } }] } : {}),
    })),
    { status: 'succeeded' },
  ];
}

const failing: ScriptStep[] = [
  { status: 'validating_files' },
  { status: 'failed', error: { code: 'invalid_training_file', message: 'The training file has an invalid format on line 3.', param: 'training_file' } },
];

describe('openai backend contract (local fake OpenAI API)', () => {
  const fake = new FakeOpenAI();
  const env: Record<string, string> = {};
  beforeAll(async () => {
    env.OPENAI_BASE_URL = await fake.start();
    env.OPENAI_API_KEY = fake.apiKey;
    fake.stepMs = 40;
    fake.scriptFor = (body) => (body.suffix === 'contract-failure' ? failing : trainingScript(45));
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
