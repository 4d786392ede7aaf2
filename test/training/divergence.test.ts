import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultPolicy, GuardrailsSchema } from '../../src/training/config-schema.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
import type { Guardrails } from '../../src/training/ledger.js';
import { resolveHyperparameters } from '../../src/training/templates.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import type { TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from './datasets.js';
import { tempLedger } from './helpers.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

/** Healthy runs recorded with the local trainer on the LLaMA-Factory demo data (test/fixtures/loss-series/SOURCE.md). */
interface Recorded {
  loss: number[];
  grad_norm: number[];
  reward_accuracy?: number[];
}
const recorded = (method: 'sft' | 'dpo'): Recorded => JSON.parse(readFileSync(new URL(`../fixtures/loss-series/${method}-llamafactory-demo.json`, import.meta.url), 'utf8')) as Recorded;

/** A healthy prefix, then the loss climbing by `step` per step for `n` steps. */
const climb = (prefix: number[], by: number, n: number) => [...prefix, ...Array.from({ length: n }, (_, i) => prefix.at(-1)! + by * (i + 1))];

describe('divergence guardrails at each method\'s loss scale (sink level)', () => {
  let env: ReturnType<typeof tempLedger>;
  beforeEach(() => (env = tempLedger()));
  afterEach(() => env.cleanup());

  /** Feeds a series through the ledger sink of a running job of this method; returns what tripped. */
  function feed(method: 'sft' | 'dpo', series: { loss: number[]; grad_norm?: number[] }, guardrails: Partial<Guardrails> = {}) {
    const { ledger, workspace } = env;
    const config_id = `cfg_${method}${Math.random().toString(36).slice(2, 8)}`;
    const policy = { ...defaultPolicy(), guardrails: GuardrailsSchema.parse(guardrails) as Guardrails };
    ledger.insertConfig({ config_id, base_model: 'mdl_test', dataset_id: 'ds_test', method, approach: 'lora', backend: 'fake', template: 'smoke', hyperparameters: resolveHyperparameters('smoke', {}), backend_options: {}, policy, parent_config_id: null });
    const job = ledger.create({ config_id, backend: 'fake', policy });
    ledger.transition(job.job_id, 'running');
    const sink = createLedgerSink(workspace, job.job_id);
    for (let i = 0; i < series.loss.length; i++) {
      if (ledger.get(job.job_id).stop_code) break;
      sink.metric('loss', i + 1, series.loss[i]);
      if (series.grad_norm) sink.metric('grad_norm', i + 1, series.grad_norm[i]);
    }
    const events = ledger.eventsSince(job.job_id, 0, 1000).events.filter((e) => e.type.startsWith('guardrail'));
    const stopped = ledger.get(job.job_id);
    return { events: events.map((e) => `${e.type}:${String(e.data?.rule)}@${String(e.data?.step)}`), stop_code: stopped.stop_code, messages: events.map((e) => e.message), job_id: job.job_id, sink };
  }

  it('DPO: the recorded healthy run (loss 0.0007 → 0.35, reward accuracy 1.0) and the issue\'s 0.0024 → 0.158 pass', () => {
    const dpo = recorded('dpo');
    expect(Math.min(...dpo.loss)).toBeLessThan(0.001);
    expect(dpo.loss.at(-1)! / Math.min(...dpo.loss)).toBeGreaterThan(100); // what the old "10× the minimum" rule stopped
    expect(dpo.reward_accuracy!.slice(-20).filter((a) => a === 1).length).toBeGreaterThan(15);
    expect(feed('dpo', dpo)).toMatchObject({ events: [], stop_code: null });
    // The issue's numbers: converged to 0.0024, then a batch at 0.158 (still preferring every chosen answer).
    const issue = [0.69, 0.4, 0.1, 0.02, 0.0024, 0.003, 0.01, 0.158, 0.02, 0.005];
    expect(feed('dpo', { loss: issue })).toMatchObject({ events: [], stop_code: null });
  });

  it('DPO: a steady climb past ln 2 over the best stops as exploding_loss; NaN stops at once', () => {
    const climbing = feed('dpo', { loss: climb(recorded('dpo').loss.slice(0, 60), 0.08, 40) });
    expect(climbing.stop_code).toBe('TRAINING_DIVERGED');
    expect(climbing.events).toHaveLength(1);
    expect(climbing.events[0]).toMatch(/^guardrail_stop:exploding_loss@/);
    expect(climbing.messages[0]).toMatch(/by more than the dpo margin 0\.693/);
    const nan = feed('dpo', { loss: [0.69, 0.5, Number.NaN, 0.3] });
    expect([nan.stop_code, nan.events]).toEqual(['TRAINING_DIVERGED', ['guardrail_stop:nan_loss@3']]);
    const inf = feed('dpo', { loss: [0.69, Number.POSITIVE_INFINITY] });
    expect(inf.events).toEqual(['guardrail_stop:nan_loss@2']);
  });

  it('SFT: the recorded healthy run passes; a climb of more than 1 nat and 2× over the best stops; NaN stops', () => {
    const sft = recorded('sft');
    expect(feed('sft', sft)).toMatchObject({ events: [], stop_code: null });
    const climbing = feed('sft', { loss: climb(sft.loss, 0.25, 40) });
    expect(climbing.events).toHaveLength(1);
    expect(climbing.events[0]).toMatch(/^guardrail_stop:exploding_loss@1[0-3]\d$/);
    expect(climbing.messages[0]).toMatch(/by more than the sft margin 1\.000/);
    // Memorised data near zero (0.02 → 0.3) is a 15× rise but far under a nat: not divergence.
    expect(feed('sft', { loss: [2, 1, 0.3, 0.05, 0.02, 0.02, 0.3, 0.3, 0.3, 0.2] }).events).toEqual([]);
    expect(feed('sft', { loss: [2.4, 2.3, Number.NaN] }).events).toEqual(['guardrail_stop:nan_loss@3']);
  });

  it('gradient norm: one clipped spike passes, a sustained rise warns (or stops when configured)', () => {
    const dpo = recorded('dpo');
    expect(Math.max(...dpo.grad_norm) / 27).toBeGreaterThan(10); // one 11× spike at step 17 in the healthy run
    expect(feed('dpo', dpo).events).toEqual([]);
    const loss = Array.from({ length: 40 }, () => 0.5);
    const grad_norm = [...Array.from({ length: 20 }, () => 1), ...Array.from({ length: 20 }, (_, i) => 1.4 ** (i + 1))];
    const warned = feed('dpo', { loss, grad_norm });
    expect(warned.stop_code).toBeNull();
    expect(warned.events).toHaveLength(1);
    expect(warned.events[0]).toMatch(/^guardrail_warning:grad_norm_spike@/);
    const stopped = feed('dpo', { loss, grad_norm }, { on_grad_spike: 'stop' });
    expect(stopped.events[0]).toMatch(/^guardrail_stop:grad_norm_spike@/);
    expect(stopped.stop_code).toBe('TRAINING_DIVERGED');
  });

  it('eval loss rising K evals in a row must also rise by 5 % of the method\'s margin', () => {
    const evals = (method: 'sft' | 'dpo', values: number[]) => {
      const fed = feed(method, { loss: [] });
      const sink = createLedgerSink(env.workspace, fed.job_id);
      values.forEach((v, i) => sink.metric('eval_loss', (i + 1) * 10, v));
      return env.ledger.eventsSince(fed.job_id, 0, 100).events.filter((e) => e.type === 'guardrail_warning').map((e) => e.data?.rule);
    };
    expect(evals('dpo', [0.0008, 0.0011, 0.0013, 0.0015])).toEqual([]);
    expect(evals('dpo', [0.3, 0.35, 0.4, 0.45])).toEqual(['eval_loss_rising']);
    expect(evals('sft', [2.0, 2.01, 2.02, 2.03])).toEqual([]);
    expect(evals('sft', [2.0, 2.1, 2.2, 2.3])).toEqual(['eval_loss_rising']);
  });

  it('settings: explode_margin and smoothing_steps change the rule; a resumed job\'s sink continues the smoothing from the ledger', () => {
    const issue = [0.69, 0.4, 0.1, 0.02, 0.0024, 0.003, 0.01, 0.158, 0.02, 0.005];
    expect(feed('dpo', { loss: issue }, { explode_margin: 0.1, smoothing_steps: 1 }).events).toEqual(['guardrail_stop:exploding_loss@8']);
    // One sink sees steps 1..60, a new one (a resumed worker) the rest: it trips where one sink would.
    const series = climb(recorded('dpo').loss.slice(0, 60), 0.08, 40);
    const whole = feed('dpo', { loss: series });
    const first = feed('dpo', { loss: series.slice(0, 60) });
    expect(first.events).toEqual([]);
    const resumed = createLedgerSink(env.workspace, first.job_id);
    for (let i = 60; i < series.length && !env.ledger.get(first.job_id).stop_code; i++) resumed.metric('loss', i + 1, series[i]);
    const events = env.ledger.eventsSince(first.job_id, 0, 1000).events.filter((e) => e.type === 'guardrail_stop');
    expect(events.map((e) => e.data?.step)).toEqual([Number(whole.events[0].split('@')[1])]);
  });
});

describe('a healthy DPO run through the MCP client', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('the recorded LLaMA-Factory DPO series ends succeeded; the same run climbing stops as TRAINING_DIVERGED', async () => {
    t = await connectFast([testBackendPlugin()]);
    const dataset_id = await prepareTestDataset(t, { task_type: 'preference', rows: 40 });
    const dpo = recorded('dpo');
    const options = { dataset_id, overrides: { max_steps: dpo.loss.length, eval_steps: 0 }, backend_options: { step_ms: 2, loss_series: dpo.loss, grad_norm_series: dpo.grad_norm } };
    const healthy = await startJob(t, options);
    const done = await waitFor(t, healthy.job_id, ended);
    expect([done.status, done.step]).toEqual(['succeeded', dpo.loss.length]);
    expect(done.events.filter((e) => e.type.startsWith('guardrail'))).toEqual([]);
    const diverging = await startJob(t, { ...options, backend_options: { ...options.backend_options, loss_series: climb(dpo.loss.slice(0, 60), 0.08, 16) } });
    const stopped = await waitFor(t, diverging.job_id, ended);
    expect([stopped.status, stopped.error_code]).toEqual(['failed', 'TRAINING_DIVERGED']);
    expect(stopped.events.find((e) => e.type === 'guardrail_stop')?.data?.rule).toBe('exploding_loss');
  });
});
