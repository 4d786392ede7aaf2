import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareVersions } from '../../src/registry/compare-versions.js';
import { metricDirection } from '../../src/registry/metric-direction.js';
import type { ModelVersion } from '../../src/registry/types.js';
import { compareExperimentsTool } from '../../tools/compare-experiments.js';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

describe('metric directions', () => {
  it('declares a direction for every metric the product records', () => {
    const expected: Record<string, string> = {
      loss: 'lower', eval_loss: 'lower', full_eval_loss: 'lower', mean_token_loss: 'lower', perplexity: 'lower', answer_perplexity: 'lower', memory_rss_mb: 'lower',
      bleu: 'higher', chrf: 'higher', rouge_l: 'higher', rouge_lsum: 'higher', exact_match: 'higher', f1: 'higher', accuracy: 'higher', macro_f1: 'higher',
      weighted_precision: 'higher', win_rate: 'higher', human_win_rate: 'higher', human_win_rate_helpfulness: 'higher', reward_accuracy: 'higher',
      reward_margin: 'higher', tokens_per_s: 'higher', train_mean_token_accuracy: 'higher',
      recall_at_1: 'higher', mrr_at_10: 'higher', ndcg_at_10: 'higher', spearman_cosine: 'higher', pearson_cosine: 'higher',
      learning_rate: 'context', lr: 'context', epoch: 'context', grad_norm: 'context', chosen_reward: 'context', rejected_reward: 'context',
      toxicity: 'unknown', helpfulness_score: 'unknown',
    };
    expect(Object.fromEntries(Object.keys(expected).map((m) => [m, metricDirection(m)]))).toEqual(expected);
  });

  it('compare_versions calls no winner on context or unknown metrics', () => {
    const version = (metrics: Record<string, number>) => ({ name: 'm', version: '1.0.0', metrics, artifact_sha256: '', lineage: { config: null } }) as unknown as ModelVersion;
    const c = compareVersions(version({ memory_rss_mb: 900, epoch: 3, toxicity: 0.1, bleu: 30 }), version({ memory_rss_mb: 1200, epoch: 5, toxicity: 0.2, bleu: 31 }));
    expect(Object.fromEntries(c.metrics.map((m) => [m.metric, m.better]))).toEqual({ bleu: 'b', epoch: 'unknown', memory_rss_mb: 'a', toxicity: 'unknown' });
  });
});

describe('compare_experiments ranks only metrics with a direction', () => {
  let t: TestClient;
  beforeEach(async () => (t = await connectTestClient()));
  afterEach(async () => t?.close());

  it('ranks memory lower-better, shows context and unknown metrics unranked, and takes declared directions', async () => {
    const a = await t.callOk(logExperimentTool, { experiment: 'dir', run_name: 'a', metrics: { loss: 1.2, memory_rss_mb: 900, grad_norm: 0.9, learning_rate: 2e-4, epoch: 3, toxicity: 0.1 } });
    const b = await t.callOk(logExperimentTool, { experiment: 'dir', run_name: 'b', metrics: { loss: 1.0, memory_rss_mb: 1400, grad_norm: 2.5, learning_rate: 5e-4, epoch: 5, toxicity: 0.3 } });
    const c = await t.callOk(compareExperimentsTool, { experiment: 'dir' });
    const by = Object.fromEntries(c.metrics.map((m) => [m.metric, m]));
    expect(by.loss).toMatchObject({ best_run: b.run.run_id, direction: 'lower' });
    expect(by.memory_rss_mb).toMatchObject({ best_run: a.run.run_id, direction: 'lower' });
    for (const name of ['grad_norm', 'learning_rate', 'epoch']) expect(by[name]).toMatchObject({ best_run: null, direction: 'context' });
    expect(by.toxicity).toMatchObject({ best_run: null, direction: 'unknown' });
    expect(by.toxicity.note).toContain('directions');
    expect(by.loss.note).toBeUndefined();

    const declared = await t.callOk(compareExperimentsTool, { experiment: 'dir', directions: { toxicity: 'lower' } });
    expect(declared.metrics.find((m) => m.metric === 'toxicity')).toMatchObject({ best_run: a.run.run_id, direction: 'lower' });
  });
});
