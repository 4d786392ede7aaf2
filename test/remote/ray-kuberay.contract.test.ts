import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { rayPlugin } from '../../plugins/ray/index.js';
import { runBackendContract, type BackendContractOptions } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeKube } from './fake-kube.js';
import { FakeRay } from './fake-ray.js';

/** The training-backend contract through the MCP tools, with the ray plugin in kuberay mode: start → running → succeeded, cancel, restart re-attach, failure. */
describe('ray backend contract, kuberay mode (local fake Kubernetes API + Ray dashboard)', () => {
  const ray = new FakeRay();
  const kube = new FakeKube(ray);
  const env: Record<string, string> = {};
  beforeAll(async () => {
    await ray.start();
    await kube.start();
    kube.dashboardURL = ray.http.url.replace(/^http:\/\//, '');
    ray.stepMs = 40;
    ray.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 2, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
    Object.assign(env, { KUBECONFIG: kube.kubeconfig('ml'), RAY_AUTH_TOKEN: ray.token, HOME: mkdtempSync(join(tmpdir(), 'ftm-home-')) });
  });
  afterAll(async () => {
    await kube.stop();
    await ray.stop();
  });

  runBackendContract(() => rayPlugin, {
    inputs: async (t) => ({ base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id: await prepareTestDataset(t, { rows: 60 }) }),
    approach: 'lora',
    restart: 'continue',
    env,
    config: { plugins: { ray: { mode: 'kuberay', kuberay: { image: 'registry.example/trainer:0.1.0' }, poll_interval_ms: 20, max_poll_interval_ms: 100, max_retries: 1 } } } as BackendContractOptions['config'],
    failure: { backend_options: { simulate: 'oom' }, code: 'OUT_OF_MEMORY' },
  });
});
