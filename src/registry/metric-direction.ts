/**
 * Which way a metric is better. Every metric the product records has a declared direction:
 * `lower` (losses, perplexity, error rates, memory), `higher` (scores, accuracy, win-rates,
 * throughput) or `context` (values that describe a run but are not better one way: learning rate,
 * epoch, step, gradient norm, raw rewards). A name none of the rules knows is `unknown`: it is
 * not ranked, and the tools that rank say so instead of guessing "higher".
 */
export type MetricDirection = 'lower' | 'higher' | 'context' | 'unknown';

/** Exact names first (they settle names the patterns below would misread). */
const EXACT: Record<string, MetricDirection> = {
  learning_rate: 'context',
  lr: 'context',
  epoch: 'context',
  step: 'context',
  global_step: 'context',
  progress: 'context',
  grad_norm: 'context',
  chosen_reward: 'context',
  rejected_reward: 'context',
  reward_margin: 'higher',
  consistency: 'higher',
};

/** Patterns in order; the first that matches decides. */
const RULES: Array<[RegExp, MetricDirection]> = [
  [/(^|_)(loss|perplexity|ppl|error|error_rate|latency|ter|wer|cer)($|_)/i, 'lower'],
  [/(^|_)(memory|rss|vram)(_|$)|_(mb|gb|bytes)$|(^|_)(seconds|duration|cost|cost_usd)$/i, 'lower'],
  [/(^|_)(accuracy|f1|precision|recall|bleu|chrf|rouge(_\w+)?|exact_match|win_rate|auc|mcc|mrr|ndcg|spearman|pearson)($|_)/i, 'higher'],
  [/_per_(s|sec|second)$|(^|_)throughput($|_)/i, 'higher'],
];

/** The declared direction of a metric name. */
export function metricDirection(metric: string): MetricDirection {
  const exact = EXACT[metric.toLowerCase()];
  if (exact) return exact;
  for (const [pattern, direction] of RULES) if (pattern.test(metric)) return direction;
  return 'unknown';
}

/** True for metrics where a smaller value is better. */
export function lowerIsBetter(metric: string): boolean {
  return metricDirection(metric) === 'lower';
}

/** True when the direction says which value wins (lower or higher). */
export function isRanked(direction: MetricDirection): direction is 'lower' | 'higher' {
  return direction === 'lower' || direction === 'higher';
}

/** 'lower', 'higher', or 'not ranked' (with why) for tables meant for people. */
export function betterLabel(metric: string): string {
  const direction = metricDirection(metric);
  return isRanked(direction) ? direction : direction === 'context' ? 'not ranked (context)' : 'not ranked (unknown metric)';
}
