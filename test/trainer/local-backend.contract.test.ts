import { join } from 'node:path';
import { describe } from 'vitest';
import { localPlugin } from '../../plugins/local/index.js';
import { runBackendContract } from '../contract/backend-contract.js';
import { prepareTestDataset } from '../training/datasets.js';
import type { TestClient } from '../helpers/mcp.js';
import { STORIES_260K } from './helpers/job-fixtures.js';

/** The base model (stories260K through the model service's llama2.c import) and a chat dataset. */
async function inputs(t: TestClient): Promise<{ base_model: string; dataset_id: string }> {
  const { model } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
  return { base_model: model.id, dataset_id: await prepareTestDataset(t, { rows: 40 }) };
}

describe('local backend (detached ONNX Runtime worker)', () => {
  runBackendContract(() => localPlugin, {
    inputs,
    restart: 'continue',
    method: 'sft',
    // Full fine-tuning here (stories260K is tiny); LoRA runs through the same worker in worker.test.ts.
    approach: 'full',
    overrides: { max_seq_length: 64 },
    // Full fine-tuning at learning rate 1 without clipping blows the loss up past the divergence
    // guardrails (docs/training.md): the job must end TRAINING_DIVERGED.
    failure: { overrides: { learning_rate: 1, max_grad_norm: 0, max_steps: 40, max_seq_length: 64 }, code: 'TRAINING_DIVERGED' },
    timeout_ms: 45_000,
  });
});
