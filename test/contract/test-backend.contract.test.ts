import { describe } from 'vitest';
import { runBackendContract } from './backend-contract.js';
import { FakeProvider, testBackendPlugin } from './test-backend.js';
import { prepareTestDataset } from '../training/datasets.js';

const inputs = async (t: { home: string; services: object }) => ({ base_model: 'tiny-test-model-1m', dataset_id: await prepareTestDataset(t, { rows: 60 }) });
const failure = { backend_options: { fail_at_step: 3, fail_code: 'OUT_OF_MEMORY' }, code: 'OUT_OF_MEMORY' };

describe('test backend, in-process', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'inprocess' }), { inputs, restart: 'interrupt', failure, backend_options: { step_ms: 30 } });
});

describe('test backend, detached worker process', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'worker' }), { inputs, restart: 'continue', failure, backend_options: { step_ms: 40 } });
});

describe('test backend, simulated remote provider', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'remote' }), { inputs, restart: 'continue', failure, backend_options: { step_ms: 30 }, afterServerStop: () => FakeProvider.detachAll() });
});
