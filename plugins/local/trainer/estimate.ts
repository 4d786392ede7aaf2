import { FinetuneError } from '../../../src/errors.js';
import type { Measurement, TrainingSpec } from '../../../src/plugins/providers.js';
import { createTrainStep } from '../engine/train-step.js';
import { chunk, dpoBatch, packExamples, sftBatch, type DpoBatch, type SftBatch } from './batches.js';
import { prepareRun, trainStepSpec } from './job.js';
import { stepsPerEpoch, totalSteps } from './loop.js';
import { toTrainData } from './dataset.js';

const MEASURED_STEPS = 3;

/** What the measured run found: the throughput the host times the run with, and this trainer's own figures. */
export interface RunMeasurement extends Measurement {
  seconds_per_step: number;
  total_steps: number;
  estimated_seconds: number;
  seq_len: number;
  trainable_parameters: number;
  provider: string;
}

/**
 * Calibrates the estimate with a short measured run: the run's own train step (same model, shape
 * and LoRA targets) on its first micro-batch, timed after one warm-up step. tokens_per_s counts
 * real (non-padding) tokens, as the dataset's token statistics do.
 */
export async function measureRun(spec: TrainingSpec, threads?: number): Promise<RunMeasurement> {
  const hyper = spec.config.hyperparameters;
  if (spec.config.method === 'classification' || spec.config.method === 'embedding') return (await import('./head-job.js')).measureHeadRun(spec, threads);
  const method = spec.config.method;
  const { model, train, seqLen, padId } = await prepareRun(spec);
  const data = toTrainData(train, method, hyper.packing);
  const empty = method === 'dpo' ? train.pairs.length === 0 : train.examples.length === 0;
  if (empty) throw new FinetuneError('DATASET_INVALID', 'No usable training rows to measure a run on.', { details: { field: 'dataset_id' } });
  const step = await createTrainStep(trainStepSpec(spec, model, seqLen, threads));
  try {
    const B = hyper.batch_size;
    let batch: SftBatch | DpoBatch;
    let realTokens: number;
    if (method === 'dpo') {
      const pairs = chunk(train.pairs, B)[0];
      const chosen = sftBatch(pairs.map((p) => p.chosen), B, seqLen, padId);
      const rejected = sftBatch(pairs.map((p) => p.rejected), B, seqLen, padId);
      const refC = await step.sequenceLogps(chosen, null);
      const refR = await step.sequenceLogps(rejected, null);
      batch = dpoBatch(pairs, { chosen: [...refC.slice(0, pairs.length)], rejected: [...refR.slice(0, pairs.length)] }, B, seqLen, padId);
      realTokens = sum(chosen.attention_mask) + sum(rejected.attention_mask);
    } else {
      const rows = hyper.packing ? packExamples(train.examples, seqLen) : train.examples;
      const sft = sftBatch(chunk(rows, B)[0], B, seqLen, padId);
      batch = sft;
      realTokens = sum(sft.attention_mask);
    }
    const params = step.trainable.map((t) => t.init.slice());
    const times: number[] = [];
    for (let i = 0; i < MEASURED_STEPS; i++) {
      const started = performance.now();
      await step.step(batch, params);
      if (i > 0) times.push((performance.now() - started) / 1000);
    }
    const secondsPerMicroBatch = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    const total = totalSteps(data, hyper, seqLen);
    const perEpoch = stepsPerEpoch(data, hyper, seqLen);
    const microPerStep = Math.min(hyper.gradient_accumulation, perEpoch.micro);
    return {
      tokens_per_s: realTokens / secondsPerMicroBatch,
      seconds_per_step: secondsPerMicroBatch * microPerStep,
      total_steps: total,
      estimated_seconds: Math.round(secondsPerMicroBatch * microPerStep * total),
      seq_len: seqLen,
      trainable_parameters: step.trainable_parameters,
      provider: step.provider,
    };
  } finally {
    await step.dispose();
  }
}

function sum(values: Float32Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
