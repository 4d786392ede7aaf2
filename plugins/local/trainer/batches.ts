import { Prng, deriveSeed } from '../../../src/random.js';
import type { DpoBatch, SftBatch } from '../engine/train-step.js';
import type { PreferenceExample, TokenizedExample } from './render.js';

/** The batch shapes of the engine's train step. */
export type { DpoBatch, SftBatch } from '../engine/train-step.js';
/** Where the data stream stands: the next micro-batch to read (a checkpoint stores this). */
export interface DataPosition {
  epoch: number;
  micro_batch: number;
}

/** Cuts an example to `seqLen` tokens (right truncation, as HF tokenizers do by default). */
export function truncate(example: TokenizedExample, seqLen: number): TokenizedExample {
  return example.ids.length <= seqLen ? example : { ids: example.ids.slice(0, seqLen), mask: example.mask.slice(0, seqLen) };
}

export function hasTargets(example: TokenizedExample): boolean {
  return example.mask.some((m) => m > 0);
}

/** The static sequence length of the run: the longest example, capped, rounded up to 8. */
export function runSeqLen(lengths: readonly number[], maxSeqLength: number): number {
  const longest = Math.max(1, ...lengths);
  return Math.min(maxSeqLength, Math.ceil(longest / 8) * 8);
}

/** The order of examples in an epoch: a shuffle seeded by (seed, epoch), so any epoch can be rebuilt. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  return Prng.fromSeed(deriveSeed(seed, epoch)).shuffle([...Array(count).keys()]);
}

/**
 * Packing: concatenates the epoch's examples (in order) and cuts the stream into rows of `seqLen`
 * tokens, every token attended (as TRL's packing without position resets).
 */
export function packExamples(examples: readonly TokenizedExample[], seqLen: number): TokenizedExample[] {
  const rows: TokenizedExample[] = [];
  let ids: number[] = [];
  let mask: number[] = [];
  for (const example of examples) {
    ids = ids.concat(example.ids);
    mask = mask.concat(example.mask);
    while (ids.length >= seqLen) {
      rows.push({ ids: ids.slice(0, seqLen), mask: mask.slice(0, seqLen) });
      ids = ids.slice(seqLen);
      mask = mask.slice(seqLen);
      if (mask.length > 0) mask[0] = 0; // the first token of a row has no predecessor in that row
    }
  }
  if (ids.length > 1) rows.push({ ids, mask });
  return rows;
}

/** Rows → one padded micro-batch of `batchSize` rows (missing rows are all padding, no loss). */
export function sftBatch(rows: readonly TokenizedExample[], batchSize: number, seqLen: number, padId: number): SftBatch {
  const input_ids = new Int32Array(batchSize * seqLen).fill(padId);
  const loss_mask = new Float32Array(batchSize * seqLen);
  const attention_mask = new Float32Array(batchSize * seqLen);
  rows.forEach((row, b) => {
    const n = Math.min(row.ids.length, seqLen);
    for (let t = 0; t < n; t++) {
      input_ids[b * seqLen + t] = row.ids[t];
      loss_mask[b * seqLen + t] = t === 0 ? 0 : row.mask[t];
      attention_mask[b * seqLen + t] = 1;
    }
  });
  return { input_ids, loss_mask, attention_mask };
}

export function dpoBatch(
  pairs: readonly PreferenceExample[],
  reference: { chosen: number[]; rejected: number[] },
  batchSize: number,
  seqLen: number,
  padId: number,
): DpoBatch {
  const refChosen = new Float32Array(batchSize);
  const refRejected = new Float32Array(batchSize);
  reference.chosen.forEach((v, i) => (refChosen[i] = v));
  reference.rejected.forEach((v, i) => (refRejected[i] = v));
  return {
    chosen: sftBatch(pairs.map((p) => p.chosen), batchSize, seqLen, padId),
    rejected: sftBatch(pairs.map((p) => p.rejected), batchSize, seqLen, padId),
    reference_chosen_logps: refChosen,
    reference_rejected_logps: refRejected,
  };
}

/** Splits `items` into consecutive groups of `size` (the last may be shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
