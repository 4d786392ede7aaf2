import { afterAll, beforeAll } from 'vitest';
import { runRemoteBackendContract } from 'finetune-mcp/plugin/testing';
import acme from '../src/index.js';
import { FakeAcme } from './fake-acme.js';

const fake = new FakeAcme();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

runRemoteBackendContract({
  plugin: acme,
  config: () => ({ base_url: fake.url, api_key: fake.api_key, max_retries: 0 }),
  cancelReceived: (remote_id) => fake.cancelled.has(remote_id),
  base_model: 'acme-tiny-1b',
  scenarios: {
    fail: { before: () => void (fake.next = { fail_at_step: 2, fail_type: 'out_of_memory' }), code: 'OUT_OF_MEMORY' },
    refuse: { before: () => void (fake.refuse_next = true), code: 'QUOTA_EXCEEDED' },
    unknown_status: { before: () => void (fake.next = { unknown_polls: 2 }) },
  },
});
