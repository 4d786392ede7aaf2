/**
 * QLoRA on the local engine: NF4 quantisation equals a transcription of bitsandbytes' kernels
 * (committed vectors), and LoRA gradients over NF4 weights equal TensorFlow.js `tf.grads` of an
 * independent model whose linear weights are the dequantised NF4 values.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINEAR_MODULES } from '../../src/models/files/arch.js';
import { dequantizeNf4, NF4_CODE, quantizeNf4 } from '../../plugins/local/engine/quant/nf4.js';
import { createTrainStep, type LoraSpec, type SftBatch } from '../../plugins/local/engine/train-step.js';
import { dequantizedLinears } from '../../plugins/local/engine/quant/nf4-linear.js';
import { randomGpt2, randomLlama, seededRandom } from './helpers/random-model.js';
import { gpt2Logits, llamaLogits, type RefBatch, type RefLora, rowLogps, tf, toTensors } from './helpers/tf-reference.js';

await tf.setBackend('cpu');

interface Vector {
  name: string;
  block_size: number;
  size: number;
  input_f32: string;
  packed_u8: string;
  absmax_f32: string;
  dequantized_f32: string;
}
const vectors = (JSON.parse(readFileSync(new URL('../fixtures/nf4/vectors.json', import.meta.url), 'utf8')) as { cases: Vector[] }).cases;
const bytes = (b64: string): Buffer => Buffer.from(b64, 'base64');
const f32 = (b64: string): Float32Array => {
  const b = bytes(b64);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
/** Half the widest gap between neighbouring NF4 levels: the worst rounding error of a scaled value. */
const HALF_GAP = Math.max(...NF4_CODE.slice(1).map((c, i) => c - NF4_CODE[i]!)) / 2;

describe('NF4 quantisation (bitsandbytes layout)', () => {
  for (const v of vectors) {
    it(`matches the reference on ${v.name}`, () => {
      const input = f32(v.input_f32);
      const q = quantizeNf4(input, v.block_size);
      expect(Buffer.from(q.absmax.buffer).equals(bytes(v.absmax_f32))).toBe(true);
      expect(Buffer.from(q.packed).equals(bytes(v.packed_u8))).toBe(true);
      const back = dequantizeNf4(q);
      expect(Buffer.from(back.buffer).equals(bytes(v.dequantized_f32))).toBe(true);
      // round-trip error bound: each value within half a level gap of its block's scale
      for (let i = 0; i < input.length; i++) {
        const scale = q.absmax[Math.floor(i / v.block_size)]!;
        expect(Math.abs(back[i]! - input[i]!)).toBeLessThanOrEqual(scale * HALF_GAP * (1 + 1e-6));
      }
    });
  }

  it('keeps block extremes exact and an all-zero block at zero', () => {
    const data = Float32Array.from({ length: 128 }, (_, i) => (i < 64 ? 0 : Math.sin(i)));
    const q = quantizeNf4(data);
    const back = dequantizeNf4(q);
    expect([...back.slice(0, 64)].every((x) => x === 0)).toBe(true);
    const peak = data.slice(64).reduce((m, x, i, a) => (Math.abs(x) > Math.abs(a[m]!) ? i : m), 0) + 64;
    expect(back[peak]).toBe(data[peak]);
    expect(q.packed.length + q.absmax.byteLength).toBe(64 + 8);
  });
});

const B = 2;
const T = 8;
const lora: LoraSpec = { r: 4, alpha: 8, dropout: 0, target_modules: 'all-linear', use_rslora: false, on_missing_target: 'error' };

describe('QLoRA gradients equal tf.grads over the dequantised weights', () => {
  const cases = [
    { name: 'llama GQA untied, all-linear', model: randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: false }), gpt2: false },
    { name: 'qwen2 q/k/v bias, tied', model: randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: true, qkvBias: true, ropeTheta: 1e6 }, 7), gpt2: false },
    { name: 'gpt2 Conv1D, all-linear', model: randomGpt2({ vocab: 48, hidden: 32, layers: 2, heads: 4, positions: 16 }), gpt2: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const step = await createTrainStep({ model: c.model as never, approach: 'qlora', lora, method: 'sft', batch_size: B, seq_len: T, threads: 1 });
      const plain = await createTrainStep({ model: c.model as never, approach: 'lora', lora, method: 'sft', batch_size: B, seq_len: T, threads: 1 });
      expect(step.quantized!.weights).toBe(c.gpt2 ? 8 : 14);
      expect(step.quantized!.nf4_bytes / step.quantized!.float32_bytes).toBeCloseTo(0.5625 / 4, 3);
      expect(step.initializer_bytes).toBeLessThan(plain.initializer_bytes - step.quantized!.float32_bytes + 2 * step.quantized!.nf4_bytes + 4096);
      await plain.dispose();

      const next = seededRandom(31);
      const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(next() * 48)));
      const attention = [Array<number>(T).fill(1), Array.from({ length: T }, (_, t) => (t < T - 2 ? 1 : 0))];
      const lossMask = attention.map((row) => row.map((a, t) => (t >= 2 ? a : 0)));
      const batch: SftBatch = { input_ids: Int32Array.from(ids.flat()), attention_mask: Float32Array.from(attention.flat()), loss_mask: Float32Array.from(lossMask.flat()) };
      const params = step.trainable.map((t) => t.init.map(() => (2 * next() - 1) * 0.2));
      const result = await step.step(batch, params);

      const base = toTensors(dequantizedLinears(c.model.weights, LINEAR_MODULES[c.gpt2 ? 'gpt2' : 'llama'], c.gpt2));
      const ref: RefBatch = { ids, attention };
      const lossOf = (...xs: tf.Tensor[]): tf.Scalar => {
        const adapters = new Map<string, [tf.Tensor, tf.Tensor]>();
        for (let i = 0; i < xs.length; i += 2) adapters.set(step.trainable[i]!.name.replace('base_model.model.', '').replace('.lora_A.weight', ''), [xs[i]!, xs[i + 1]!]);
        const l: RefLora = { scale: lora.alpha / lora.r, adapters };
        const logits = c.gpt2 ? gpt2Logits(c.model, base, ref, l) : llamaLogits(c.model, base, ref, l);
        const tokens = lossMask.flat().reduce((a, b) => a + b, 0) - lossMask.reduce((a, r) => a + r[0]!, 0);
        return rowLogps(logits, ref, lossMask).sum().neg().div(tokens) as tf.Scalar;
      };
      const xs = step.trainable.map((t, i) => tf.tensor(params[i]!, t.shape));
      const refGrads = tf.grads((...args: tf.Tensor[]) => lossOf(...args))(xs);
      expect(Math.abs(result.loss - lossOf(...xs).dataSync()[0]!) / result.loss).toBeLessThan(1e-5);
      for (let i = 0; i < xs.length; i++) {
        const expected = refGrads[i]!.dataSync() as Float32Array;
        let diff = 0;
        let norm = 0;
        for (let k = 0; k < expected.length; k++) {
          diff += (result.grads[i]![k]! - expected[k]!) ** 2;
          norm += expected[k]! ** 2;
        }
        expect(norm, `${step.trainable[i]!.name} has a zero reference gradient`).toBeGreaterThan(0);
        expect(Math.sqrt(diff / norm), step.trainable[i]!.name).toBeLessThan(1e-4);
      }
      await step.dispose();
    });
  }
});
