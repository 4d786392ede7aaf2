/**
 * The slice of the engine's `TrainStep` (plugins/local/engine/train-step.ts) the training loop
 * uses: everything but `seed()`. Tests implement it with small exact models.
 */
import type { TrainStep } from '../engine/train-step.js';

export type TrainStepLike = Omit<TrainStep, 'seed'>;
