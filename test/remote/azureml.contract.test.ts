import { afterAll, beforeAll, describe } from 'vitest';
import { azuremlPluginWith } from '../../plugins/azureml/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeAzureMl, fakeCredential } from './fake-azureml.js';

describe('azureml backend contract (local fake of the Azure ML REST API, run history and blob storage)', () => {
  const fake = new FakeAzureMl();
  const config: Record<string, unknown> = {};
  beforeAll(async () => {
    const url = await fake.start();
    Object.assign(config, { management_url: url, run_history_url: `${url}/history`, blob_url: `${url}/blob/${fake.account}` });
    fake.stepMs = 40;
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 2, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
  });
  afterAll(() => fake.stop());

  runBackendContract(() => azuremlPluginWith({ credential: fakeCredential }), {
    inputs: async (t) => ({ base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env: { AZURE_SUBSCRIPTION_ID: '00000000-1111-2222-3333-444444444444' },
    backend_options: { instance_type: 'Standard_NC24ads_A100_v4' },
    config: {
      plugins: {
        azureml: Object.assign(config, {
          resource_group: 'ml-rg',
          workspace: 'ml-ws',
          compute: 'gpu-cluster',
          image: 'ftmregistry.azurecr.io/finetune-mcp-trainer:0.1.0',
          poll_interval_ms: 20,
          max_poll_interval_ms: 100,
          max_retries: 1,
        }),
      },
    },
    failure: { backend_options: { simulate: 'oom' }, code: 'OUT_OF_MEMORY' },
  });
});
