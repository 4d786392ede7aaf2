/**
 * GPU execution providers as this machine offers them: where there is no GPU (CI, the 2-core VMs),
 * WebGPU is refused with CAPABILITY_UNSUPPORTED and a driver recovery, not as a rejected graph; cuda
 * is offered only when its provider library sits beside the binding. On a GPU machine the same
 * calls train (bench/gpu.sh checks the numbers there).
 */
import { describe, expect, it } from 'vitest';
import { availableProviders } from '../../plugins/local/engine/session.js';
import { createTrainStep } from '../../plugins/local/engine/train-step.js';
import { randomLlama } from './helpers/random-model.js';

const model = randomLlama({ vocab: 48, hidden: 32, layers: 1, heads: 4, kvHeads: 2, inter: 40, tied: true });
const lora = { r: 2, alpha: 4, dropout: 0, target_modules: ['q_proj'], use_rslora: false, on_missing_target: 'error' as const };

describe('GPU execution providers', () => {
  it('webgpu trains where an adapter exists, else is refused as a missing capability with a recovery', async () => {
    const outcome = await createTrainStep({ model: model as never, approach: 'lora', lora, method: 'sft', batch_size: 1, seq_len: 4, provider: 'webgpu' }).then(
      async (step) => {
        await step.dispose();
        return { ok: true as const };
      },
      (error: { code: string; message: string; recovery?: string }) => ({ ok: false as const, error }),
    );
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('CAPABILITY_UNSUPPORTED');
    expect(outcome.error.message).toMatch(/webgpu.*could not start.*adapter/i);
    expect(outcome.error.recovery).toMatch(/Vulkan/);
  });

  it('offers cuda only with its provider library installed', async () => {
    const providers = await availableProviders();
    expect(providers[0]).toBe('cpu');
    if (!providers.includes('cuda')) {
      await expect(createTrainStep({ model: model as never, approach: 'lora', lora, method: 'sft', batch_size: 1, seq_len: 4, provider: 'cuda' })).rejects.toMatchObject({ code: 'CAPABILITY_UNSUPPORTED' });
    }
  });
});
