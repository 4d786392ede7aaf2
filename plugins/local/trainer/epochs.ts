/** The data stream of a run: how many steps an epoch holds and its micro-batches, in seeded order. */
import { chunk, dpoBatch, epochOrder, packExamples, sftBatch, type DpoBatch, type SftBatch } from './batches.js';
import type { HeadBatch } from '../engine/heads/step.js';
import { headBatch, type HeadExample } from './head-data.js';
import type { LoopHyperparameters } from './loop.js';
import type { PreferenceExample, TokenizedExample } from './render.js';

/** Training data after rendering: SFT examples, or DPO pairs with their reference log-probs. */
export type TrainData =
  | { method: 'sft'; examples: TokenizedExample[]; packing: boolean }
  | { method: 'dpo'; pairs: PreferenceExample[]; reference: { chosen: number[]; rejected: number[] } }
  | { method: 'head'; examples: HeadExample[] };

/** One micro-batch of any method. */
export type TrainBatch = SftBatch | DpoBatch | HeadBatch;

/** Micro-batches per epoch and optimizer steps per epoch, without building them. */
export function stepsPerEpoch(data: TrainData, hyper: LoopHyperparameters, seqLen: number): { micro: number; steps: number } {
  const rows =
    data.method === 'sft'
      ? data.packing
        ? packExamples(data.examples, seqLen).length
        : data.examples.length
      : data.method === 'head'
        ? data.examples.length
        : data.pairs.length;
  const micro = Math.ceil(rows / hyper.batch_size);
  return { micro, steps: Math.ceil(micro / hyper.gradient_accumulation) };
}

export function totalSteps(data: TrainData, hyper: LoopHyperparameters, seqLen: number): number {
  return hyper.max_steps > 0 ? hyper.max_steps : hyper.epochs * stepsPerEpoch(data, hyper, seqLen).steps;
}

/** The micro-batches of one epoch, in the seeded order of that epoch. */
export function epochBatches(data: TrainData, hyper: LoopHyperparameters, seqLen: number, padId: number, epoch: number): TrainBatch[] {
  const B = hyper.batch_size;
  if (data.method === 'head') {
    const ordered = epochOrder(data.examples.length, hyper.seed, epoch).map((i) => data.examples[i]);
    return chunk(ordered, B).map((group) => headBatch(group, B, seqLen, padId));
  }
  if (data.method === 'sft') {
    const ordered = epochOrder(data.examples.length, hyper.seed, epoch).map((i) => data.examples[i]);
    const rows = data.packing ? packExamples(ordered, seqLen) : ordered;
    return chunk(rows, B).map((group) => sftBatch(group, B, seqLen, padId));
  }
  const order = epochOrder(data.pairs.length, hyper.seed, epoch);
  return chunk(order, B).map((idx) =>
    dpoBatch(
      idx.map((i) => data.pairs[i]),
      { chosen: idx.map((i) => data.reference.chosen[i]), rejected: idx.map((i) => data.reference.rejected[i]) },
      B,
      seqLen,
      padId,
    ),
  );
}

/** Validation batches in file order (no shuffling, no packing). */
export function evalBatches(data: TrainData, batchSize: number, seqLen: number, padId: number): TrainBatch[] {
  if (data.method === 'head') return chunk(data.examples, batchSize).map((g) => headBatch(g, batchSize, seqLen, padId));
  if (data.method === 'sft') return chunk(data.examples, batchSize).map((g) => sftBatch(g, batchSize, seqLen, padId));
  const idx = [...data.pairs.keys()];
  return chunk(idx, batchSize).map((g) =>
    dpoBatch(
      g.map((i) => data.pairs[i]),
      { chosen: g.map((i) => data.reference.chosen[i]), rejected: g.map((i) => data.reference.rejected[i]) },
      batchSize,
      seqLen,
      padId,
    ),
  );
}
