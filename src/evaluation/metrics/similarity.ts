/**
 * Correlations of predicted similarities with gold scores, as scipy.stats computes them (what
 * sentence-transformers' EmbeddingSimilarityEvaluator reports as pearson_cosine and spearman_cosine):
 * Pearson's r, and Spearman's rho = Pearson's r of the ranks, tied values sharing their average rank.
 * A constant column has no correlation: NaN, as scipy returns.
 */
export const SIMILARITY_METRICS = ['spearman_cosine', 'pearson_cosine'] as const;

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** 1-based ranks, ties given the mean of the ranks they span (scipy.stats.rankdata 'average'). */
function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end += 1;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(averageRanks(x), averageRanks(y));
}
