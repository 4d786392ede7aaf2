import { FinetuneError } from '../../../src/errors.js';
import type { ArchConfig } from '../../../src/models/files/arch.js';
import { ropeTables } from './rope.js';

/** Additive mask value: large enough to zero a softmax weight, small enough to stay finite. */
export const MASKED = -1e9;

/**
 * Causal + padding attention bias [B,1,T,P+T] for queries at positions P..P+T-1 over keys 0..P+T-1.
 * `keyMask` (length B·(P+T), 1 = real token) hides padding keys; omitted = all real. With a sliding
 * window (Mistral), query i sees keys j with i − window < j ≤ i, as transformers masks them. An
 * encoder (`causal` false) masks padding only.
 */
export function attentionBias(batch: number, seq: number, past: number, keyMask?: Float32Array, window: number | null = null, causal = true): Float32Array {
  const total = past + seq;
  const bias = new Float32Array(batch * seq * total);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seq; i++) {
      const row = (b * seq + i) * total;
      for (let j = 0; j < total; j++) {
        const visible = (!causal || j <= past + i) && (window === null || j > past + i - window) && (!keyMask || keyMask[b * total + j]! !== 0);
        if (!visible) bias[row + j] = MASKED;
      }
    }
  }
  return bias;
}

/** Position inputs: rotary tables for the Llama family, learned-position ids for GPT-2 and BERT. */
export function positionFeeds(arch: ArchConfig, start: number, count: number): Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> {
  if (arch.family !== 'llama') {
    const first = start + arch.position_offset;
    if (first + count > arch.max_positions) {
      throw new FinetuneError('INVALID_INPUT', `sequence of ${start + count} tokens is longer than the model's ${arch.max_positions - arch.position_offset} positions`, {
        details: { field: 'max_tokens' },
      });
    }
    const ids = new BigInt64Array(count);
    for (let t = 0; t < count; t++) ids[t] = BigInt(first + t);
    return { position_ids: { data: ids, dims: [count] } };
  }
  const { cos, sin } = ropeTables(arch, start, count);
  return { rope_cos: { data: cos, dims: [count, arch.head_dim] }, rope_sin: { data: sin, dims: [count, arch.head_dim] } };
}

export function toInt64(ids: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = BigInt(ids[i]!);
  return out;
}

/**
 * Next-token targets for a padded [B,T] batch: position t predicts token t+1, weighted by
 * loss_mask[t+1] (the contract marks the predicted token); the last position predicts nothing.
 */
export function shiftTargets(ids: Int32Array, lossMask: Float32Array, batch: number, seq: number): { targets: BigInt64Array; weights: Float32Array; tokens: number } {
  const targets = new BigInt64Array(batch * seq);
  const weights = new Float32Array(batch * seq);
  let tokens = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < seq; t++) {
      const i = b * seq + t;
      const w = lossMask[i + 1]!;
      targets[i] = BigInt(ids[i + 1]!);
      weights[i] = w;
      tokens += w;
    }
  }
  return { targets, weights, tokens };
}

/** Refuses token ids outside the vocabulary before ONNX Runtime would fail on them. */
export function checkTokenIds(ids: ArrayLike<number>, vocab: number, field: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new FinetuneError('INVALID_INPUT', `${field}[${i}] = ${id} is not a token id of this model (vocabulary 0…${vocab - 1})`, { details: { field } });
    }
  }
}
