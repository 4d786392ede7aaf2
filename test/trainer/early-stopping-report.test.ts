import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTraining, type LoopHyperparameters } from '../../plugins/local/trainer/loop.js';
import { weightsParamsIo } from '../../plugins/local/trainer/params-io.js';
import type { TokenizedExample } from '../../plugins/local/trainer/render.js';
import { bestEval } from '../../src/training/views.js';
import { insertTestConfig, tempLedger } from '../training/helpers.js';
import { bigramStep } from './helpers/bigram-step.js';

const V = 12;
const T = 8;
const root = mkdtempSync(join(tmpdir(), 'ftm-es-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Sequences x, x+stride, … mod V: the model learns stride 1; stride 5 is what it unlearns. */
const counting = (count: number, offset: number, stride: number): TokenizedExample[] =>
  Array.from({ length: count }, (_, i) => {
    const ids = Array.from({ length: T }, (_, t) => (i + offset + t * stride) % V);
    return { ids, mask: ids.map((_, t) => (t === 0 ? 0 : 1)) };
  });

const HYPER: LoopHyperparameters = {
  epochs: 30, max_steps: 0, learning_rate: 0.2, batch_size: 2, gradient_accumulation: 2, warmup_ratio: 0.1, lr_scheduler: 'cosine', weight_decay: 0.01,
  adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8, max_grad_norm: 1, eval_steps: 1, save_steps: 0, save_total_limit: 1,
  early_stopping_patience: 2, early_stopping_min_delta: 0.001, seed: 7,
};

describe('early stopping reports one best step and which weights were written', () => {
  it('the event names the best step, the checkpoint the outputs come from, and a base model that scored better', async () => {
    const step = bigramStep({ vocab: V, dim: 6, batch_size: 2, seq_len: T, dropout: 0 });
    const events: Array<{ type: string; message: string; data?: Record<string, unknown> }> = [];
    const metrics: Array<[string, number, number]> = [];
    const outcome = await runTraining({
      hyper: HYPER,
      step,
      train: { method: 'sft', examples: counting(10, 0, 1), packing: false },
      validation: { method: 'sft', examples: counting(4, 0, 5), packing: false },
      seq_len: T,
      pad_id: 0,
      checkpoint_root: join(root, 'checkpoints'),
      params_io: weightsParamsIo(step.trainable),
      report: { metric: (n, s, v) => metrics.push([n, s, v]), event: (type, message, data) => events.push({ type, message, ...(data ? { data } : {}) }), checkpoint: () => undefined },
      shouldStop: () => false,
    });
    expect(outcome.reason).toBe('early_stopped');
    const stop = events.find((e) => e.type === 'early_stopping')!;
    const evals = metrics.filter(([n]) => n === 'eval_loss');
    const baseline = evals.find(([, s]) => s === 0)![2];
    expect(stop.data).toMatchObject({ step: outcome.global_step, best_step: outcome.best_step, weights_step: outcome.best_step, best_eval_loss: outcome.best_eval_loss, baseline_eval_loss: baseline });
    expect(stop.message).toContain(`Best eval loss ${outcome.best_eval_loss!.toFixed(4)} at step ${outcome.best_step}: the adapter and merged model are written from step ${outcome.best_step}'s checkpoint, not step ${outcome.global_step}.`);
    if (baseline <= outcome.best_eval_loss!) expect(stop.message).toMatch(/The base model scored [\d.]+ before training, lower than every trained step/);
    else expect(stop.message).not.toMatch(/base model/);
  });

  it("monitor's best_eval agrees with the trainer: the base model's eval at step 0 is not a step one can ship", () => {
    const env = tempLedger();
    try {
      const job = env.ledger.create({ config_id: insertTestConfig(env.ledger), backend: 'fake', policy: env.ledger.getConfig(insertTestConfig(env.ledger)).policy as never });
      for (const [step, value] of [[0, 1.09], [2, 1.44], [4, 3.7], [6, 4.2]]) env.ledger.addMetric(job.job_id, 'eval_loss', step, value);
      expect(bestEval(env.ledger, job.job_id)).toEqual({ step: 2, eval_loss: 1.44 });
    } finally {
      env.cleanup();
    }
  });
});
