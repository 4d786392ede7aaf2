import { afterAll, beforeAll, describe } from 'vitest';
import { sagemakerPlugin } from '../../plugins/sagemaker/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeSageMaker } from './fake-sagemaker.js';

describe('sagemaker backend contract (real AWS SDK clients against a local fake of SageMaker, CloudWatch Logs and S3)', () => {
  const fake = new FakeSageMaker();
  const config: Record<string, unknown> = {};
  const env = { AWS_ACCESS_KEY_ID: fake.accessKey, AWS_SECRET_ACCESS_KEY: 'fake-secret-key', AWS_REGION: 'us-east-1' };
  beforeAll(async () => {
    config.endpoint = await fake.start();
    fake.stepMs = 40;
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 2, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
  });
  afterAll(() => fake.stop());

  runBackendContract(() => sagemakerPlugin, {
    inputs: async (t) => ({ base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env,
    backend_options: { instance_type: 'ml.g5.xlarge' },
    config: {
      plugins: {
        sagemaker: Object.assign(config, {
          s3_prefix: 's3://ftm-bucket/finetune-mcp/',
          role_arn: 'arn:aws:iam::123456789012:role/FinetuneMcpSageMakerExecution',
          image_uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/finetune-mcp-trainer:0.1.0',
          poll_interval_ms: 20,
          max_poll_interval_ms: 100,
          max_retries: 2,
        }),
      },
    },
    failure: { backend_options: { simulate: 'oom' }, code: 'OUT_OF_MEMORY' },
  });
});
