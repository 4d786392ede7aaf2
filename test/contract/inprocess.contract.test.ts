import { describe } from 'vitest';
import { runBackendContract } from './backend-contract.js';
import { failure, inputs } from './contract-inputs.js';
import { testBackendPlugin } from './test-backend.js';

describe('test backend, in-process', () => {
  runBackendContract(() => testBackendPlugin({ mode: 'inprocess' }), { inputs, restart: 'interrupt', failure, backend_options: { step_ms: 30 } });
});
