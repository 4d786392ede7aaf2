import { FinetuneError } from '../errors.js';
import { bootstrapInterval, pairedBootstrap, type BootstrapInterval, type BootstrapOptions, type StatsScorer } from './metrics/bootstrap.js';
import { Bleu, Chrf, RougeScorer, exactMatch, tokenF1 } from './metrics/index.js';
import type { TextScorer } from './compare.js';

/**
 * The text metrics of a comparison, built on the metrics library. Each metric is expressed as
 * per-example sufficient statistics plus a corpus score from their sum, so corpus scores, sentence
 * scores and paired bootstrap resamples all come from one definition (as sacreBLEU does).
 */
interface StatMetric {
  stats(prediction: string, reference: string): number[];
  score(summed: readonly number[]): number;
}

export const TEXT_METRICS = ['bleu', 'chrf', 'rouge_1', 'rouge_2', 'rouge_l', 'exact_match', 'f1', 'accuracy'] as const;

export function defaultTextMetrics(task: string): string[] {
  if (task === 'classification') return ['accuracy'];
  return ['chrf', 'bleu', 'rouge_l'];
}

function metricFor(name: string): StatMetric {
  // Mean metrics carry [value, 1] per example, so the summed vector holds both total and count.
  const mean = (scale: number) => (summed: readonly number[]) => (summed[1] > 0 ? (scale * summed[0]) / summed[1] : 0);
  switch (name) {
    case 'bleu': {
      const bleu = new Bleu();
      return { stats: (p, r) => bleu.segmentStats(p, [r]), score: (s) => bleu.scoreFromStats(s).score };
    }
    case 'chrf': {
      const chrf = new Chrf();
      return { stats: (p, r) => chrf.segmentStats(p, [r]), score: (s) => chrf.fScore(s) };
    }
    case 'rouge_1':
    case 'rouge_2':
    case 'rouge_l': {
      const type = name === 'rouge_l' ? 'rougeL' : name === 'rouge_1' ? 'rouge1' : 'rouge2';
      const rouge = new RougeScorer({ types: [type], use_stemmer: true });
      return { stats: (p, r) => [rouge.score(r, p)[type].fmeasure, 1], score: mean(1) };
    }
    case 'exact_match':
      return { stats: (p, r) => [exactMatch(p, r), 1], score: mean(100) };
    case 'f1':
      return { stats: (p, r) => [tokenF1(p, r), 1], score: mean(100) };
    case 'accuracy':
      return { stats: (p, r) => [p.trim() === r.trim() ? 1 : 0, 1], score: mean(1) };
    default:
      throw new FinetuneError('INVALID_INPUT', `Unknown metric '${name}'; use ${TEXT_METRICS.join(', ')}.`, { details: { field: 'metrics' } });
  }
}

/** A TextScorer for the named metrics (validated up front, so a typo fails before any work). */
export function textScorer(metrics: string[], options: BootstrapOptions = {}): TextScorer & { interval(metric: string, predictions: string[], references: string[]): BootstrapInterval } {
  const defs = new Map(metrics.map((m) => [m, metricFor(m)]));
  const get = (m: string) => defs.get(m) ?? metricFor(m);
  const statsOf = (m: StatMetric, predictions: string[], references: string[]) => predictions.map((p, i) => m.stats(p, references[i]));
  const scorer = (m: StatMetric): StatsScorer => (summed) => m.score(Array.from(summed));
  return {
    corpus(metric, predictions, references) {
      const m = get(metric);
      return m.score(sum(statsOf(m, predictions, references)));
    },
    perExample(metric, predictions, references) {
      const m = get(metric);
      return predictions.map((p, i) => m.score(m.stats(p, references[i])));
    },
    pairedBootstrap(metric, baseline, candidate, references) {
      const m = get(metric);
      const base = statsOf(m, baseline, references);
      const cand = statsOf(m, candidate, references);
      const r = pairedBootstrap(base, cand, scorer(m), options);
      // The delta's interval: each example carries [candidate stats, baseline stats], so one resample scores both.
      const width = base[0]?.length ?? 0;
      const joined = cand.map((row, i) => [...row, ...base[i]]);
      const delta = bootstrapInterval(joined, (s) => m.score(Array.from(s.subarray(0, width))) - m.score(Array.from(s.subarray(width))), options);
      return { p_value: r.p_value, ci: [delta.low, delta.high] };
    },
    interval(metric, predictions, references) {
      const m = get(metric);
      return bootstrapInterval(statsOf(m, predictions, references), scorer(m), options);
    },
  };
}

function sum(rows: number[][]): number[] {
  const out = new Array<number>(rows[0]?.length ?? 0).fill(0);
  for (const row of rows) for (let j = 0; j < row.length; j++) out[j] += row[j];
  return out;
}
