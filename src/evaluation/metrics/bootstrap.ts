/**
 * Seeded bootstrap over per-example sufficient statistics, as sacreBLEU does it: resample the
 * examples with replacement, sum their statistics, recompute the corpus score. One code path
 * serves corpus metrics (BLEU, chrF: stats are n-gram counts) and mean metrics (ROUGE, EM, F1,
 * accuracy: stats are [value, 1]).
 *
 * - `bootstrapInterval`: 95 % interval like sacreBLEU's `--confidence` (sorted resample scores,
 *   the n//40-th from each end; half-width reported as `ci`).
 * - `pairedBootstrap`: sacreBLEU's paired bootstrap test (`--paired-bs`), the same resample
 *   indices for both systems; p = (#{|Δ*| − mean|Δ*| > |Δ|} + 1) / (B + 1).
 *
 * The random stream differs from numpy's, so results agree with sacreBLEU's within Monte-Carlo
 * error, not to the digit.
 */
import { Prng } from '../../../plugins/local/trainer/prng.js';

export interface BootstrapOptions {
  /** Number of resamples (sacreBLEU's default 1000). */
  samples?: number;
  /** Seed of the resampling stream (sacreBLEU's default 12345). */
  seed?: number;
}

export interface BootstrapInterval {
  /** The score on the full data. */
  score: number;
  /** Mean of the resampled scores. */
  mean: number;
  /** Lower and upper 95 % bounds (the n//40-th smallest and largest resampled scores). */
  low: number;
  high: number;
  /** Half-width (high − low) / 2, as sacreBLEU prints `μ ± ci`. */
  ci: number;
  samples: number;
  seed: number;
}

export interface PairedBootstrapResult {
  baseline_score: number;
  system_score: number;
  /** system − baseline. */
  delta: number;
  p_value: number;
  system: BootstrapInterval;
  baseline: BootstrapInterval;
}

export const DEFAULT_BOOTSTRAP_SAMPLES = 1000;
export const DEFAULT_BOOTSTRAP_SEED = 12345;

/** Scores a summed statistics vector (e.g. BLEU from counts, or sum/count for a mean metric). */
export type StatsScorer = (summed: Float64Array) => number;

/** Per-example values as [value, 1] rows and the matching scorer: a mean metric in bootstrap form. */
export function meanStats(values: readonly number[], scale = 1): { stats: number[][]; score: StatsScorer } {
  return { stats: values.map((v) => [v, 1]), score: (s) => (s[1] > 0 ? (scale * s[0]) / s[1] : 0) };
}

/** B × n resample indices, shared by every metric (and both systems of a paired test). */
export function resampleIndices(n: number, options: BootstrapOptions = {}): Uint32Array[] {
  const samples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  const prng = Prng.fromSeed(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const out: Uint32Array[] = [];
  for (let b = 0; b < samples; b++) {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = prng.nextInt(n);
    out.push(idx);
  }
  return out;
}

function flatten(stats: readonly (readonly number[])[]): { flat: Float64Array; width: number } {
  const width = stats[0]?.length ?? 0;
  const flat = new Float64Array(stats.length * width);
  stats.forEach((row, i) => flat.set(row, i * width));
  return { flat, width };
}

function resampledScores(stats: readonly (readonly number[])[], score: StatsScorer, indices: readonly Uint32Array[]): number[] {
  const { flat, width } = flatten(stats);
  const sum = new Float64Array(width);
  return indices.map((idx) => {
    sum.fill(0);
    for (let i = 0; i < idx.length; i++) {
      const base = idx[i] * width;
      for (let k = 0; k < width; k++) sum[k] += flat[base + k];
    }
    return score(sum);
  });
}

/** The score of the whole data: every example's statistics summed once. */
export function scoreStats(stats: readonly (readonly number[])[], score: StatsScorer): number {
  const { flat, width } = flatten(stats);
  const sum = new Float64Array(width);
  for (let i = 0; i < stats.length; i++) for (let k = 0; k < width; k++) sum[k] += flat[i * width + k];
  return score(sum);
}

/** sacreBLEU's `estimate_ci` on a list of resampled scores. */
function estimateInterval(score: number, resampled: number[], seed: number): BootstrapInterval {
  const sorted = [...resampled].sort((a, b) => a - b);
  const n = sorted.length;
  const lowerIdx = Math.floor(n / 40);
  const low = sorted[lowerIdx];
  const high = sorted[n - lowerIdx - 1];
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  return { score, mean, low, high, ci: 0.5 * (high - low), samples: n, seed };
}

export function bootstrapInterval(
  stats: readonly (readonly number[])[],
  score: StatsScorer,
  options: BootstrapOptions & { indices?: readonly Uint32Array[] } = {},
): BootstrapInterval {
  const indices = options.indices ?? resampleIndices(stats.length, options);
  return estimateInterval(scoreStats(stats, score), resampledScores(stats, score, indices), options.seed ?? DEFAULT_BOOTSTRAP_SEED);
}

/** Paired bootstrap significance of system vs baseline on the same examples (same order). */
export function pairedBootstrap(
  baselineStats: readonly (readonly number[])[],
  systemStats: readonly (readonly number[])[],
  score: StatsScorer,
  options: BootstrapOptions & { indices?: readonly Uint32Array[] } = {},
): PairedBootstrapResult {
  if (baselineStats.length !== systemStats.length) {
    throw new Error(`paired bootstrap needs the same examples: baseline has ${baselineStats.length}, system ${systemStats.length}`);
  }
  const seed = options.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const indices = options.indices ?? resampleIndices(systemStats.length, options);
  const baselineScore = scoreStats(baselineStats, score);
  const systemScore = scoreStats(systemStats, score);
  const baselineResampled = resampledScores(baselineStats, score, indices);
  const systemResampled = resampledScores(systemStats, score, indices);
  const diffs = systemResampled.map((s, i) => Math.abs(s - baselineResampled[i]));
  const meanDiff = diffs.reduce((a, d) => a + d, 0) / diffs.length;
  const observed = Math.abs(baselineScore - systemScore);
  const extreme = diffs.filter((d) => d - meanDiff > observed).length;
  return {
    baseline_score: baselineScore,
    system_score: systemScore,
    delta: systemScore - baselineScore,
    p_value: (extreme + 1) / (diffs.length + 1),
    system: estimateInterval(systemScore, systemResampled, seed),
    baseline: estimateInterval(baselineScore, baselineResampled, seed),
  };
}
