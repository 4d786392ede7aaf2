/**
 * The slice of the engine's `TrainStep` (plugins/local/engine/train-step.ts) the training loop
 * uses: everything but `seed()`, over the batches of every method (the head steps of
 * engine/heads/step.ts take head batches). Tests implement it with small exact models.
 */
import type { TrainStep } from '../engine/train-step.js';
import type { TrainBatch } from './epochs.js';

export interface TrainStepLike extends Omit<TrainStep, 'seed' | 'step' | 'evaluate' | 'sequenceLogps'> {
  step(batch: TrainBatch, params: Float32Array[], opts?: { dropout_seed?: number }): ReturnType<TrainStep['step']>;
  evaluate(batch: TrainBatch, params: Float32Array[]): ReturnType<TrainStep['evaluate']>;
  sequenceLogps(batch: Parameters<TrainStep['sequenceLogps']>[0], params: Float32Array[] | null): Promise<Float32Array>;
}
