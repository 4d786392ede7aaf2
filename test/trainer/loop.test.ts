import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointDir, listCheckpoints, loadCheckpoint } from '../../plugins/local/trainer/checkpoint.js';
import { runTraining, type LoopHyperparameters, type TrainData, type TrainingRun } from '../../plugins/local/trainer/loop.js';
import { weightsParamsIo } from '../../plugins/local/trainer/params-io.js';
import type { TokenizedExample } from '../../plugins/local/trainer/render.js';
import { bigramStep } from './helpers/bigram-step.js';

const V = 12;
const T = 8;

/** Counting sequences (x, x+1, x+2, … mod V): a bigram model can learn them exactly. */
function counting(count: number, offset = 0, stride = 1): TokenizedExample[] {
  return Array.from({ length: count }, (_, i) => {
    const ids = Array.from({ length: T }, (_, t) => (i + offset + t * stride) % V);
    return { ids, mask: ids.map((_, t) => (t === 0 ? 0 : 1)) };
  });
}

const HYPER: LoopHyperparameters = {
  epochs: 3,
  max_steps: 0,
  learning_rate: 0.05,
  batch_size: 2,
  gradient_accumulation: 2,
  warmup_ratio: 0.1,
  lr_scheduler: 'cosine',
  weight_decay: 0.01,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1,
  eval_steps: 3,
  save_steps: 2,
  save_total_limit: 2,
  early_stopping_patience: 0,
  early_stopping_min_delta: 0,
  seed: 7,
};

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function setup(overrides: Partial<LoopHyperparameters> = {}, data: { train?: TrainData; validation?: TrainData } = {}, dropout = 0.1) {
  const root = mkdtempSync(join(tmpdir(), 'ftm-loop-'));
  homes.push(root);
  const hyper = { ...HYPER, ...overrides };
  const step = bigramStep({ vocab: V, dim: 6, batch_size: hyper.batch_size, seq_len: T, dropout });
  const metrics: Array<[string, number, number]> = [];
  const events: string[] = [];
  const run = (extra: Partial<TrainingRun> = {}) =>
    runTraining({
      hyper,
      step,
      train: data.train ?? { method: 'sft', examples: counting(10), packing: false },
      validation: data.validation ?? { method: 'sft', examples: counting(3, 5), packing: false },
      seq_len: T,
      pad_id: 0,
      checkpoint_root: join(root, 'checkpoints'),
      params_io: weightsParamsIo(step.trainable),
      report: {
        metric: (name, s, value) => metrics.push([name, s, value]),
        event: (type) => events.push(type),
        checkpoint: () => undefined,
      },
      shouldStop: () => false,
      ...extra,
    });
  return { root, step, hyper, run, metrics, events };
}

describe('training loop', () => {
  it('lowers the validation loss and reports every metric each step', async () => {
    const { run, metrics } = setup({ epochs: 6, learning_rate: 0.1 });
    const outcome = await run();
    expect(outcome.reason).toBe('completed');
    expect(outcome.global_step).toBe(outcome.total_steps);
    expect(outcome.total_steps).toBe(6 * Math.ceil(Math.ceil(10 / 2) / 2));
    const evals = metrics.filter(([name]) => name === 'eval_loss');
    expect(evals[0][1]).toBe(0); // baseline before training
    expect(evals[evals.length - 1][2]).toBeLessThan(evals[0][2] * 0.6);
    for (const name of ['loss', 'learning_rate', 'grad_norm', 'tokens_per_s', 'epoch', 'memory_rss_mb']) {
      expect(metrics.filter(([n]) => n === name).map(([, s]) => s)).toEqual([...Array(outcome.total_steps).keys()].map((k) => k + 1));
    }
    const epochs = metrics.filter(([n]) => n === 'epoch').map(([, , v]) => v);
    expect(epochs[epochs.length - 1]).toBe(6);
  });

  it('resumes from a checkpoint with exactly the losses and weights of an uninterrupted run', async () => {
    const straight = await setup().run();
    const interrupted = setup();
    let calls = 0;
    // Stop after step 5 (the stop is polled before each optimizer step), as a cancel would.
    const first = await interrupted.run({ shouldStop: () => ++calls > 5 });
    expect(first.reason).toBe('cancelled');
    expect(first.global_step).toBe(5);
    expect(listCheckpoints(join(interrupted.root, 'checkpoints'))).toContain(5);
    const resume = loadCheckpoint(checkpointDir(join(interrupted.root, 'checkpoints'), 5), interrupted.step.trainable, weightsParamsIo(interrupted.step.trainable));
    const second = await interrupted.run({ resume });
    expect(second.global_step).toBe(straight.global_step);
    for (const [s, loss] of second.losses) expect(loss).toBe(straight.losses.get(s));
    expect(second.losses.size).toBe(straight.global_step - 5);
    second.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(straight.params[i])));
  });

  it('resumes exactly from a periodic checkpoint in the middle of an epoch', async () => {
    const straight = await setup({ gradient_accumulation: 1, save_total_limit: 0 }).run();
    const again = setup({ gradient_accumulation: 1, save_total_limit: 0 });
    await again.run();
    const ckpt = checkpointDir(join(again.root, 'checkpoints'), 4);
    const resumed = await again.run({ resume: loadCheckpoint(ckpt, again.step.trainable, weightsParamsIo(again.step.trainable)) });
    expect([...resumed.losses.keys()][0]).toBe(5);
    for (const [s, loss] of resumed.losses) expect(loss).toBe(straight.losses.get(s));
  });

  it('averages gradients over micro-batches: batch 2 × accumulation 2 equals batch 4', async () => {
    const a = await setup({ batch_size: 2, gradient_accumulation: 2, max_steps: 1, warmup_ratio: 0 }, {}, 0).run({ baseline_eval: false });
    const b = await setup({ batch_size: 4, gradient_accumulation: 1, max_steps: 1, warmup_ratio: 0 }, {}, 0).run({ baseline_eval: false });
    a.params.forEach((p, i) => p.forEach((v, j) => expect(v).toBeCloseTo(b.params[i][j], 6)));
  });

  it('keeps the last K checkpoints plus the best', async () => {
    // Validation on a different pattern: its loss improves at first, then rises as training fits the train set.
    const { root, run } = setup({ epochs: 8, eval_steps: 2, save_steps: 2, save_total_limit: 2 });
    const outcome = await run();
    const kept = listCheckpoints(join(root, 'checkpoints'));
    const last = outcome.global_step;
    expect(kept).toContain(last);
    expect(kept).toContain(outcome.best_step);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(readdirSync(join(root, 'checkpoints')).every((n) => /^step-\d+$/.test(n))).toBe(true);
  });

  it('stops early when the eval loss stops improving, keeping the best checkpoint', async () => {
    const validation: TrainData = { method: 'sft', examples: counting(4, 0, 5), packing: false }; // stride 5: not what it learns
    const { root, run, events } = setup({ epochs: 30, eval_steps: 1, save_steps: 0, learning_rate: 0.2, early_stopping_patience: 2, early_stopping_min_delta: 0.001 }, { validation });
    const outcome = await run();
    expect(outcome.reason).toBe('early_stopped');
    expect(events).toContain('early_stopping');
    expect(outcome.global_step).toBeLessThan(outcome.total_steps);
    expect(listCheckpoints(join(root, 'checkpoints'))).toContain(outcome.best_step);
  });

  it('trains DPO pairs: the chosen-over-rejected margin grows', async () => {
    const step = bigramStep({ vocab: V, dim: 6, batch_size: 2, seq_len: T });
    const chosen = counting(6);
    const rejected = counting(6, 0, 3);
    const pairs = chosen.map((c, i) => ({ chosen: c, rejected: rejected[i] }));
    const reference = { chosen: [] as number[], rejected: [] as number[] };
    // reference log-probs from the untrained weights (adapters off), once
    const { sftBatch } = await import('../../plugins/local/trainer/batches.js');
    for (const pair of pairs) {
      reference.chosen.push((await step.sequenceLogps(sftBatch([pair.chosen], 2, T, 0), null))[0]);
      reference.rejected.push((await step.sequenceLogps(sftBatch([pair.rejected], 2, T, 0), null))[0]);
    }
    const data: TrainData = { method: 'dpo', pairs, reference };
    const { run, metrics } = setup({ epochs: 10, learning_rate: 0.05, eval_steps: 5 }, { train: data, validation: data });
    await run();
    const margins = metrics.filter(([n]) => n === 'eval_reward_margin').map(([, , v]) => v);
    expect(margins[0]).toBeCloseTo(0, 6);
    expect(margins[margins.length - 1]).toBeGreaterThan(0.5);
  });
});

describe('packing', () => {
  it('trains on packed rows: fewer, fuller micro-batches, every token still seen once per epoch', async () => {
    const examples = counting(10).map((e) => ({ ids: e.ids.slice(0, 5), mask: e.mask.slice(0, 5) }));
    const { run, metrics } = setup({ epochs: 1, gradient_accumulation: 1, eval_steps: 0, save_steps: 0 }, { train: { method: 'sft', examples, packing: true } });
    const outcome = await run({ baseline_eval: false });
    // 10 × 5 tokens packed into rows of 8 → 7 rows (6 full + one of 2) → 4 micro-batches of 2
    expect(outcome.total_steps).toBe(4);
    expect(metrics.filter(([n]) => n === 'loss')).toHaveLength(4);
  });
});

describe('failures', () => {
  it('stops with TRAINING_DIVERGED when the loss is not finite, keeping the last good checkpoint', async () => {
    const { root, step, run } = setup({ save_steps: 2, eval_steps: 0 });
    const real = step.step.bind(step);
    let calls = 0;
    step.step = async (batch, params, opts) => {
      const result = await real(batch, params, opts);
      return ++calls === 9 ? { ...result, loss: Number.NaN } : result; // micro-batch 9 = optimizer step 5
    };
    await expect(run({ baseline_eval: false })).rejects.toMatchObject({ code: 'TRAINING_DIVERGED', details: { step: 5 } });
    expect(listCheckpoints(join(root, 'checkpoints')).at(-1)).toBe(4);
  });

  it('refuses to resume from a folder that is not a checkpoint, or one of other tensors', async () => {
    const { root, step, run } = setup({ max_steps: 2, save_steps: 2 });
    await run({ baseline_eval: false });
    const io = weightsParamsIo(step.trainable);
    expect(() => loadCheckpoint(root, step.trainable, io)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    const other = [{ name: 'other.weight', shape: [3, 3] }];
    expect(() => loadCheckpoint(checkpointDir(join(root, 'checkpoints'), 2), other, io)).toThrow(expect.objectContaining({ code: 'STATE_CONFLICT' }));
  });
});
