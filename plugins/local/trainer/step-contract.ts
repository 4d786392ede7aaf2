/**
 * The slice of the engine's `TrainStep` (plugins/local/engine/train-step.ts) the training loop
 * uses, so the loop runs on the real engine and, in tests, on small exact models.
 */
import type { DpoBatch, SftBatch } from './batches.js';

export interface TrainableTensorInfo {
  /** PEFT name for LoRA (`…q_proj.lora_A.weight`), Hugging Face name for full fine-tuning. */
  name: string;
  shape: number[];
  init: Float32Array;
}

export interface StepResult {
  loss: number;
  grads: Float32Array[];
  tokens: number;
  metrics: Record<string, number>;
}

export interface EvalResult {
  loss_sum: number;
  tokens: number;
  metrics: Record<string, number>;
}

export interface TrainStepLike {
  trainable: TrainableTensorInfo[];
  trainable_parameters: number;
  missing_targets: string[];
  provider: string;
  step(batch: SftBatch | DpoBatch, params: Float32Array[], opts?: { dropout_seed?: number }): Promise<StepResult>;
  evaluate(batch: SftBatch | DpoBatch, params: Float32Array[]): Promise<EvalResult>;
  sequenceLogps(batch: SftBatch, params: Float32Array[] | null): Promise<Float32Array>;
  dispose(): Promise<void>;
}
