import { describe, expect, it } from 'vitest';
import { Bleu } from '../../src/evaluation/metrics/bleu.js';
import { bootstrapInterval, bootstrapIntervals, meanStats, pairedBootstrap, StatsMatrix } from '../../src/evaluation/metrics/bootstrap.js';
import { Chrf } from '../../src/evaluation/metrics/chrf.js';
import { expected, readPairs } from './fixtures.js';

const pairs = readPairs('wmt17_ende20.jsonl');
const refs = pairs.map((p) => [p.reference]);
const baseline = pairs.map((p) => p.hypothesis);
const want = expected.paired_bootstrap_wmt17;
const improved: string[] = want.improved_hypotheses;

/**
 * sacreBLEU 2.6.0 resamples with numpy's default_rng(12345); we replay that stream, so the
 * resamples are the same: p-values are equal, and means and half-widths differ only by
 * sacreBLEU's float32 statistics (relative 1e-6 and below).
 */
const FLOAT32_TOLERANCE = 1e-6;
const closeRel = (got: number, want: number) => expect(Math.abs(got - want) / Math.abs(want)).toBeLessThan(FLOAT32_TOLERANCE);

describe('bootstrap against sacreBLEU 2.6.0 (paired-bs and --confidence, B = 1000, seed 12345)', () => {
  const bleu = new Bleu();
  const bleuScore = (s: Float64Array) => bleu.scoreFromStats(s).score;
  const bleuStats = (hyps: string[]) => hyps.map((h, i) => bleu.segmentStats(h, refs[i]));

  it('BLEU paired bootstrap: scores, p-value, mean and CI as sacreBLEU', () => {
    const r = pairedBootstrap(bleuStats(baseline), bleuStats(improved), bleuScore);
    expect(r.baseline_score).toBeCloseTo(want.BLEU.baseline_score, 10);
    expect(r.system_score).toBeCloseTo(want.BLEU.system_score, 10);
    expect(r.p_value).toBe(want.BLEU.p_value);
    closeRel(r.system.mean, want.BLEU.system_mean);
    closeRel(r.system.ci, want.BLEU.system_ci);
    expect(bleu.signature(1, { bs: 1000, seed: 12345 })).toBe(want.signature_BLEU);
  });

  it('chrF paired bootstrap as sacreBLEU', () => {
    const chrf = new Chrf();
    const stats = (hyps: string[]) => hyps.map((h, i) => chrf.segmentStats(h, refs[i]));
    const r = pairedBootstrap(stats(baseline), stats(improved), (s) => chrf.fScore(s));
    expect(r.system_score).toBeCloseTo(want.chrF2.system_score, 10);
    expect(r.p_value).toBe(want.chrF2.p_value);
    closeRel(r.system.mean, want.chrF2.system_mean);
    closeRel(r.system.ci, want.chrF2.system_ci);
  });

  it('BLEU confidence interval (sacrebleu --confidence)', () => {
    const r = bootstrapInterval(bleuStats(baseline), bleuScore);
    const c = want.confidence_bleu;
    expect(r.score).toBeCloseTo(c.score, 10);
    closeRel(r.mean, c.mean);
    closeRel(r.ci, c.ci);
    expect(r.low).toBeLessThanOrEqual(r.score);
    expect(r.high).toBeGreaterThanOrEqual(r.score);
  });
});

describe('bootstrap mechanics', () => {
  it('several metrics in one pass give each metric its own bootstrapInterval', () => {
    const bleu = new Bleu();
    const chrf = new Chrf();
    const bleuStats = StatsMatrix.from(baseline.map((h, i) => bleu.segmentStats(h, refs[i])));
    const chrfStats = StatsMatrix.from(baseline.map((h, i) => chrf.segmentStats(h, refs[i])));
    const mean = meanStats(baseline.map((h) => h.length));
    const metrics = [
      { stats: bleuStats, score: (s: Float64Array) => bleu.scoreFromStats(s).score },
      { stats: StatsMatrix.from(mean.stats), score: mean.score },
      { stats: chrfStats, score: (s: Float64Array) => chrf.fScore(s) },
    ];
    const together = bootstrapIntervals(metrics, { samples: 300, seed: 3 });
    metrics.forEach((m, j) => expect(together[j]).toEqual(bootstrapInterval(m.stats, m.score, { samples: 300, seed: 3 })));
  });
  const values = Array.from({ length: 200 }, (_, i) => ((i * 37) % 101) / 100);
  it('is deterministic for a seed and changes with it', () => {
    const { stats, score } = meanStats(values);
    const a = bootstrapInterval(stats, score, { seed: 7 });
    expect(bootstrapInterval(stats, score, { seed: 7 })).toEqual(a);
    expect(bootstrapInterval(stats, score, { seed: 8 }).low).not.toBe(a.low);
  });
  it('a change on one example of 200 is not significant; a change on all of them is', () => {
    const base = meanStats(values);
    const oneChanged = meanStats(values.map((v, i) => (i === 0 ? v + 0.5 : v)));
    const small = pairedBootstrap(base.stats, oneChanged.stats, base.score);
    expect(small.delta).toBeCloseTo(0.5 / 200, 12);
    // |Δ*| exceeds 2|Δ| only when the changed example is drawn 3+ times: P(Poisson(1) ≥ 3) ≈ 0.08
    expect(small.p_value).toBeGreaterThan(0.05);
    const allChanged = meanStats(values.map((v) => v + 0.2));
    expect(pairedBootstrap(base.stats, allChanged.stats, base.score).p_value).toBeLessThan(0.01);
  });
  it('the mean of a mean metric is close to the sample mean (normal theory: s.e. = s.d./√n)', () => {
    const { stats, score } = meanStats(values);
    const r = bootstrapInterval(stats, score, { samples: 2000 });
    const m = values.reduce((a, v) => a + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
    const se = sd / Math.sqrt(values.length);
    expect(r.score).toBeCloseTo(m, 12);
    expect(Math.abs(r.mean - m)).toBeLessThan(0.2 * se);
    // the 95 % half-width of a normal mean is 1.96 s.e.
    expect(Math.abs(r.ci - 1.96 * se) / (1.96 * se)).toBeLessThan(0.12);
  });
});
