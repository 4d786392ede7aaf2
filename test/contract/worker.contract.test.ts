import { describe } from 'vitest';
import { runBackendContract } from './backend-contract.js';
import { failure, inputs } from './contract-inputs.js';
import { testBackendPlugin } from './test-backend.js';

describe('test backend, detached worker process', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'worker' }), { inputs, restart: 'continue', failure, backend_options: { step_ms: 40 } });
});
