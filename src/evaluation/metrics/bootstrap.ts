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
 * The resamples come from numpy's `default_rng(seed).choice(n, (B, n))`, reproduced bit for bit,
 * so with sacreBLEU's seed (12345) they are sacreBLEU's resamples: intervals and p-values agree
 * with sacreBLEU's up to its float32 statistics.
 */
import { NumpyGenerator } from './numpy-random.js';

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

interface PairedBootstrapResult {
  baseline_score: number;
  system_score: number;
  /** system − baseline. */
  delta: number;
  p_value: number;
  system: BootstrapInterval;
  baseline: BootstrapInterval;
}

const DEFAULT_BOOTSTRAP_SAMPLES = 1000;
const DEFAULT_BOOTSTRAP_SEED = 12345;

/** Scores a summed statistics vector (e.g. BLEU from counts, or sum/count for a mean metric). */
export type StatsScorer = (summed: Float64Array) => number;

/** Per-example values as [value, 1] rows and the matching scorer: a mean metric in bootstrap form. */
export function meanStats(values: readonly number[], scale = 1): { stats: number[][]; score: StatsScorer } {
  return { stats: values.map((v) => [v, 1]), score: (s) => (s[1] > 0 ? (scale * s[0]) / s[1] : 0) };
}

/**
 * B × n resample indices, shared by every metric (and both systems of a paired test): numpy's
 * `default_rng(seed).choice(n, size=(B, n), replace=True)`, row by row, as sacreBLEU draws them.
 */
function resampleIndices(n: number, options: BootstrapOptions = {}): Uint32Array[] {
  const samples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  if (n === 0) return Array.from({ length: samples }, () => new Uint32Array(0));
  const rng = new NumpyGenerator(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const out: Uint32Array[] = [];
  for (let b = 0; b < samples; b++) {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = rng.integer(n);
    out.push(idx);
  }
  return out;
}

/**
 * Per-example statistics stored flat (row-major, fixed width) in a growing Float64Array, so a
 * long file costs 8 bytes a number rather than an array object per row.
 */
export class StatsMatrix {
  private data: Float64Array;
  rows = 0;

  constructor(
    readonly width: number,
    capacity = 1024,
  ) {
    this.data = new Float64Array(Math.max(1, capacity) * width);
  }

  static from(rows: readonly (readonly number[])[]): StatsMatrix {
    const matrix = new StatsMatrix(rows[0]?.length ?? 0, rows.length);
    for (const row of rows) matrix.push(row);
    return matrix;
  }

  push(row: ArrayLike<number>): void {
    if (row.length !== this.width) throw new Error(`a statistics row has ${row.length} values, not ${this.width}`);
    if ((this.rows + 1) * this.width > this.data.length) {
      const grown = new Float64Array(Math.max(this.data.length * 2, this.width));
      grown.set(this.data);
      this.data = grown;
    }
    for (let k = 0; k < this.width; k++) this.data[this.rows * this.width + k] = row[k];
    this.rows++;
  }

  /** The rows as one flat view (row i at [i·width, (i+1)·width)). */
  get flat(): Float64Array {
    return this.data.subarray(0, this.rows * this.width);
  }

  row(i: number): Float64Array {
    return this.data.subarray(i * this.width, (i + 1) * this.width);
  }
}

type StatsInput = readonly (readonly number[])[] | StatsMatrix;

function asMatrix(stats: StatsInput): StatsMatrix {
  return stats instanceof StatsMatrix ? stats : StatsMatrix.from(stats);
}

function resampledScores(stats: StatsMatrix, score: StatsScorer, indices: readonly Uint32Array[]): number[] {
  const { flat, width } = stats;
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
export function scoreStats(input: StatsInput, score: StatsScorer): number {
  const stats = asMatrix(input);
  const { flat, width } = stats;
  const sum = new Float64Array(width);
  for (let i = 0; i < stats.rows; i++) for (let k = 0; k < width; k++) sum[k] += flat[i * width + k];
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

/**
 * Intervals of several metrics on the same examples in one pass over the resamples: their
 * statistics side by side in one wide row, so each resampled index is read once. Results equal
 * `bootstrapInterval` metric by metric.
 */
export function bootstrapIntervals(
  metrics: ReadonlyArray<{ stats: StatsMatrix; score: StatsScorer }>,
  options: BootstrapOptions & { indices?: readonly Uint32Array[]; signal?: AbortSignal } = {},
): BootstrapInterval[] {
  const rows = metrics[0]?.stats.rows ?? 0;
  if (metrics.some((m) => m.stats.rows !== rows)) throw new Error('every metric needs statistics for the same examples');
  const offsets: number[] = [];
  let width = 0;
  for (const m of metrics) {
    offsets.push(width);
    width += m.stats.width;
  }
  const wide = new Float64Array(rows * width);
  metrics.forEach((m, j) => {
    const flat = m.stats.flat;
    for (let i = 0; i < rows; i++) wide.set(flat.subarray(i * m.stats.width, (i + 1) * m.stats.width), i * width + offsets[j]);
  });
  const indices = options.indices ?? resampleIndices(rows, options);
  const sum = new Float64Array(width);
  const resampled = metrics.map(() => new Array<number>(indices.length));
  indices.forEach((idx, b) => {
    if (b % 100 === 0) options.signal?.throwIfAborted();
    sum.fill(0);
    for (let i = 0; i < idx.length; i++) {
      const base = idx[i] * width;
      for (let k = 0; k < width; k++) sum[k] += wide[base + k];
    }
    metrics.forEach((m, j) => {
      resampled[j][b] = m.score(sum.subarray(offsets[j], offsets[j] + m.stats.width));
    });
  });
  const seed = options.seed ?? DEFAULT_BOOTSTRAP_SEED;
  return metrics.map((m, j) => estimateInterval(scoreStats(m.stats, m.score), resampled[j], seed));
}

export function bootstrapInterval(
  input: StatsInput,
  score: StatsScorer,
  options: BootstrapOptions & { indices?: readonly Uint32Array[] } = {},
): BootstrapInterval {
  const stats = asMatrix(input);
  const indices = options.indices ?? resampleIndices(stats.rows, options);
  return estimateInterval(scoreStats(stats, score), resampledScores(stats, score, indices), options.seed ?? DEFAULT_BOOTSTRAP_SEED);
}

/** Paired bootstrap significance of system vs baseline on the same examples (same order). */
export function pairedBootstrap(
  baselineInput: StatsInput,
  systemInput: StatsInput,
  score: StatsScorer,
  options: BootstrapOptions & { indices?: readonly Uint32Array[] } = {},
): PairedBootstrapResult {
  const baselineStats = asMatrix(baselineInput);
  const systemStats = asMatrix(systemInput);
  if (baselineStats.rows !== systemStats.rows) {
    throw new Error(`paired bootstrap needs the same examples: baseline has ${baselineStats.rows}, system ${systemStats.rows}`);
  }
  const seed = options.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const indices = options.indices ?? resampleIndices(systemStats.rows, options);
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
