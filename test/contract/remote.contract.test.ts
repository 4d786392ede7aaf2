import { describe } from 'vitest';
import { runBackendContract } from './backend-contract.js';
import { failure, inputs } from './contract-inputs.js';
import { FakeProvider, testBackendPlugin } from './test-backend.js';

describe('test backend, simulated remote provider', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'remote' }), {
    inputs,
    restart: 'continue',
    failure,
    backend_options: { step_ms: 30 },
    afterServerStop: () => FakeProvider.detachAll(),
  });
});
