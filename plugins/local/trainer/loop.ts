import { FinetuneError } from '../../../src/errors.js';
import type { TrainingHyperparameters } from '../../../src/plugins/providers.js';
import { AdamW, clipGradNorm, decaysWeight } from './adamw.js';
import { epochBatches, evalBatches, stepsPerEpoch, totalSteps, type TrainBatch, type TrainData } from './epochs.js';
import { pruneCheckpoints, saveCheckpoint, type LoadedCheckpoint, type ParamsIo, type TrainerState } from './checkpoint.js';
import { Prng } from '../../../src/random.js';
import { learningRateAt, warmupSteps, type Schedule } from './schedule.js';
import type { TrainStepLike } from './step-contract.js';

export type { TrainData } from './epochs.js';
export { stepsPerEpoch, totalSteps } from './epochs.js';

export type LoopHyperparameters = Pick<
  TrainingHyperparameters,
  | 'epochs'
  | 'max_steps'
  | 'learning_rate'
  | 'batch_size'
  | 'gradient_accumulation'
  | 'warmup_ratio'
  | 'lr_scheduler'
  | 'weight_decay'
  | 'adam_beta1'
  | 'adam_beta2'
  | 'adam_epsilon'
  | 'max_grad_norm'
  | 'eval_steps'
  | 'save_steps'
  | 'save_total_limit'
  | 'early_stopping_patience'
  | 'early_stopping_min_delta'
  | 'seed'
>;

/** Where the loop reports: the worker forwards these to the job sink. */
interface LoopReporter {
  metric(name: string, step: number, value: number): void;
  event(type: string, message: string, data?: Record<string, unknown>): void;
  checkpoint(step: number, path: string, metrics: Record<string, number>): void;
}

export interface TrainingRun {
  hyper: LoopHyperparameters;
  step: TrainStepLike;
  train: TrainData;
  validation?: TrainData;
  seq_len: number;
  pad_id: number;
  checkpoint_root: string;
  params_io: ParamsIo;
  resume?: LoadedCheckpoint;
  report: LoopReporter;
  /** Polled between micro-batches: true stops after the current optimizer step, with a checkpoint. */
  shouldStop(): boolean;
  /** Evaluate the untrained weights first (step 0), so the curve starts at the base model. Default true. */
  baseline_eval?: boolean;
}

export interface TrainingOutcome {
  reason: 'completed' | 'cancelled' | 'early_stopped';
  global_step: number;
  total_steps: number;
  params: Float32Array[];
  best_step: number | null;
  best_eval_loss: number | null;
  last_checkpoint: string | null;
  /** Training loss of every optimizer step run in this call, by step. */
  losses: Map<number, number>;
}

/** Eval loss (token-weighted mean) and token-weighted means of the engine's metrics. */
async function evaluate(step: TrainStepLike, batches: TrainBatch[], params: Float32Array[]): Promise<Record<string, number>> {
  let lossSum = 0;
  let tokens = 0;
  const sums: Record<string, number> = {};
  for (const batch of batches) {
    const result = await step.evaluate(batch, params);
    lossSum += result.loss_sum;
    tokens += result.tokens;
    for (const [name, value] of Object.entries(result.metrics)) sums[name] = (sums[name] ?? 0) + value * result.tokens;
  }
  const out: Record<string, number> = { eval_loss: tokens > 0 ? lossSum / tokens : Number.NaN };
  for (const [name, sum] of Object.entries(sums)) out[`eval_${name}`] = tokens > 0 ? sum / tokens : Number.NaN;
  return out;
}

/**
 * The optimisation loop: seeded epoch order, gradient accumulation (mean over micro-batches),
 * global-norm clipping, AdamW, warmup + decay, evals with early stopping and best tracking,
 * checkpoints (every save_steps, on a new best, on cancel and at the end; keep-last-K plus best).
 * Resuming from a checkpoint restores weights, moments, data position and PRNG, so the steps that
 * follow are the steps an uninterrupted run takes.
 */
export async function runTraining(run: TrainingRun): Promise<TrainingOutcome> {
  const { hyper, step: engine, report } = run;
  const tensors = engine.trainable.map((t) => ({ name: t.name, shape: t.shape }));
  const total = totalSteps(run.train, hyper, run.seq_len);
  const perEpoch = stepsPerEpoch(run.train, hyper, run.seq_len);
  if (perEpoch.micro === 0) {
    throw new FinetuneError('DATASET_INVALID', 'The training split has no usable examples (every row was empty after rendering and truncation).', {
      recovery: 'Check the dataset rows and max_seq_length, then prepare the dataset again.',
    });
  }
  const schedule: Schedule = { kind: hyper.lr_scheduler, base_lr: hyper.learning_rate, warmup_steps: warmupSteps(total, hyper.warmup_ratio), total_steps: total };
  const optimizer = new AdamW(
    tensors.map((t) => t.shape.reduce((a, b) => a * b, 1)),
    { beta1: hyper.adam_beta1, beta2: hyper.adam_beta2, eps: hyper.adam_epsilon, weight_decay: hyper.weight_decay },
    tensors.map((t) => decaysWeight(t.name)),
  );

  let params: Float32Array[];
  let state: TrainerState;
  if (run.resume) {
    params = run.resume.params.map((p) => p.slice());
    optimizer.restore(run.resume.optimizer);
    state = { ...run.resume.state, total_steps: total, log_history: [...run.resume.state.log_history] };
    report.event('resumed', `Resumed at step ${state.global_step} of ${total}.`, { step: state.global_step, total_steps: total });
  } else {
    params = engine.trainable.map((t) => t.init.slice());
    state = {
      format: 'finetune-mcp.trainer/1',
      global_step: 0,
      total_steps: total,
      position: { epoch: 0, micro_batch: 0 },
      prng: Prng.fromSeed(hyper.seed).state(),
      optimizer_step: 0,
      best_eval_loss: null,
      best_step: null,
      evals_without_improvement: 0,
      seq_len: run.seq_len,
      tensors,
      log_history: [],
    };
  }
  const prng = Prng.fromState(state.prng);
  const validation = run.validation ? evalBatches(run.validation, hyper.batch_size, run.seq_len, run.pad_id) : [];
  const losses = new Map<number, number>();
  let lastCheckpoint: string | null = null;
  let lastSavedStep = -1;
  let batches: { epoch: number; list: TrainBatch[] } | null = null;

  const save = async (metrics: Record<string, number>) => {
    if (lastSavedStep === state.global_step) return;
    state.prng = prng.state();
    state.optimizer_step = optimizer.step;
    const path = await saveCheckpoint(run.checkpoint_root, state, params, optimizer.snapshot(), run.params_io);
    lastCheckpoint = path;
    lastSavedStep = state.global_step;
    report.checkpoint(state.global_step, path, metrics);
    const removed = pruneCheckpoints(run.checkpoint_root, hyper.save_total_limit, state.best_step);
    if (removed.length) report.event('checkpoints_removed', `save_total_limit ${hyper.save_total_limit}: removed checkpoint${removed.length > 1 ? 's' : ''} of step ${removed.join(', ')}.`, { steps: removed });
  };

  /** Runs an eval; returns whether it improved on the best and whether to stop early. */
  const runEval = async (): Promise<{ improved: boolean; stop: boolean; metrics: Record<string, number> }> => {
    const metrics = await evaluate(engine, validation, params);
    for (const [name, value] of Object.entries(metrics)) report.metric(name, state.global_step, value);
    state.log_history.push({ step: state.global_step, ...metrics });
    const loss = metrics.eval_loss;
    const improved = state.best_eval_loss === null || loss < state.best_eval_loss - hyper.early_stopping_min_delta;
    if (improved) {
      state.best_eval_loss = loss;
      state.best_step = state.global_step;
      state.evals_without_improvement = 0;
    } else {
      state.evals_without_improvement += 1;
    }
    const stop = hyper.early_stopping_patience > 0 && state.evals_without_improvement >= hyper.early_stopping_patience;
    return { improved, stop, metrics };
  };

  let baselineLoss: number | null = null;
  if (!run.resume && validation.length > 0 && run.baseline_eval !== false) {
    const metrics = await evaluate(engine, validation, params);
    baselineLoss = metrics.eval_loss;
    for (const [name, value] of Object.entries(metrics)) report.metric(name, 0, value);
    report.event('baseline_eval', `Eval loss before training: ${metrics.eval_loss.toFixed(4)}.`, metrics);
  }

  let reason: TrainingOutcome['reason'] = 'completed';
  while (state.global_step < total) {
    if (run.shouldStop()) {
      reason = 'cancelled';
      break;
    }
    const started = performance.now();
    if (state.position.micro_batch >= perEpoch.micro) state.position = { epoch: state.position.epoch + 1, micro_batch: 0 };
    if (!batches || batches.epoch !== state.position.epoch) {
      batches = { epoch: state.position.epoch, list: epochBatches(run.train, hyper, run.seq_len, run.pad_id, state.position.epoch) };
    }
    // One optimizer step: up to gradient_accumulation micro-batches, never across an epoch end.
    const grads = params.map((p) => new Float32Array(p.length));
    let lossSum = 0;
    let tokens = 0;
    let count = 0;
    const stepMetrics: Record<string, number> = {};
    while (count < hyper.gradient_accumulation && state.position.micro_batch < perEpoch.micro) {
      const batch = batches.list[state.position.micro_batch];
      const result = await engine.step(batch, params, { dropout_seed: prng.nextUint32() });
      if (!Number.isFinite(result.loss)) {
        throw new FinetuneError('TRAINING_DIVERGED', `Loss became ${result.loss} at step ${state.global_step + 1}.`, { details: { step: state.global_step + 1 } });
      }
      result.grads.forEach((g, i) => {
        const acc = grads[i];
        for (let j = 0; j < g.length; j++) acc[j] += g[j];
      });
      lossSum += result.loss;
      tokens += result.tokens;
      for (const [name, value] of Object.entries(result.metrics)) stepMetrics[name] = (stepMetrics[name] ?? 0) + value;
      count += 1;
      state.position = { ...state.position, micro_batch: state.position.micro_batch + 1 };
    }
    for (const g of grads) for (let j = 0; j < g.length; j++) g[j] /= count;
    const gradNorm = clipGradNorm(grads, hyper.max_grad_norm);
    const lr = learningRateAt(schedule, state.global_step);
    optimizer.update(params, grads, lr);
    state.global_step += 1;

    const loss = lossSum / count;
    losses.set(state.global_step, loss);
    const seconds = (performance.now() - started) / 1000;
    const epoch = state.position.epoch + state.position.micro_batch / perEpoch.micro;
    const logged: Record<string, number> = {
      loss,
      learning_rate: lr,
      grad_norm: gradNorm,
      tokens_per_s: seconds > 0 ? tokens / seconds : 0,
      epoch,
      memory_rss_mb: process.memoryUsage.rss() / 1048576,
    };
    for (const [name, sum] of Object.entries(stepMetrics)) logged[name] = sum / count;
    for (const [name, value] of Object.entries(logged)) report.metric(name, state.global_step, value);
    state.log_history.push({ step: state.global_step, ...logged });

    const atEnd = state.global_step === total;
    let stopEarly = false;
    let evalMetrics: Record<string, number> = {};
    if (validation.length > 0 && ((hyper.eval_steps > 0 && state.global_step % hyper.eval_steps === 0) || atEnd)) {
      const outcome = await runEval();
      evalMetrics = outcome.metrics;
      stopEarly = outcome.stop;
      if (outcome.improved) await save({ loss, ...evalMetrics });
    }
    if (hyper.save_steps > 0 && state.global_step % hyper.save_steps === 0) await save({ loss, ...evalMetrics });
    if (stopEarly) {
      report.event('early_stopping', earlyStoppingMessage(hyper, state.global_step, state.best_step, state.best_eval_loss, baselineLoss), {
        step: state.global_step,
        best_step: state.best_step,
        best_eval_loss: state.best_eval_loss,
        // The outputs (adapter, merged model) hold the best checkpoint's weights (job.ts).
        weights_step: state.best_step,
        ...(baselineLoss !== null ? { baseline_eval_loss: baselineLoss } : {}),
      });
      reason = 'early_stopped';
      break;
    }
  }
  await save({ loss: losses.get(state.global_step) ?? Number.NaN });
  return {
    reason,
    global_step: state.global_step,
    total_steps: total,
    params,
    best_step: state.best_step,
    best_eval_loss: state.best_eval_loss,
    last_checkpoint: lastCheckpoint,
    losses,
  };
}

/**
 * One account of an early stop: the best trained step (the one whose weights are written out) and,
 * when the model before training scored better, that too: training only made this validation set worse.
 */
function earlyStoppingMessage(hyper: LoopHyperparameters, step: number, bestStep: number | null, bestLoss: number | null, baseline: number | null): string {
  const head = `Eval loss did not improve by more than ${hyper.early_stopping_min_delta} for ${hyper.early_stopping_patience} evals: stopped at step ${step}.`;
  if (bestStep === null || bestLoss === null) return head;
  const written = bestStep === step ? `the adapter and merged model are written from step ${step}` : `the adapter and merged model are written from step ${bestStep}'s checkpoint, not step ${step}`;
  const worse = baseline !== null && baseline <= bestLoss ? ` The base model scored ${baseline.toFixed(4)} before training, lower than every trained step: training made this validation set worse.` : '';
  return `${head} Best eval loss ${bestLoss.toFixed(4)} at step ${bestStep}: ${written}.${worse}`;
}
