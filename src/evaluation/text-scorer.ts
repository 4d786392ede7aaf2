import { Prng } from '../../plugins/local/trainer/prng.js';
import { FinetuneError } from '../errors.js';
import { Bleu, Chrf, RougeScorer, exactMatch, tokenF1 } from './metrics/index.js';
import type { TextScorer } from './compare.js';

/**
 * The text metrics of a comparison, built on the metrics library. Each metric is expressed as
 * per-example sufficient statistics plus a corpus score from their sum, so corpus scores, sentence
 * scores and paired bootstrap resamples all come from one definition (as sacreBLEU does).
 */
interface StatMetric {
  stats(prediction: string, reference: string): number[];
  score(summed: readonly number[], count: number): number;
}

export const TEXT_METRICS = ['bleu', 'chrf', 'rouge_1', 'rouge_2', 'rouge_l', 'exact_match', 'f1', 'accuracy'] as const;

export function defaultTextMetrics(task: string): string[] {
  if (task === 'classification') return ['accuracy'];
  return ['chrf', 'bleu', 'rouge_l'];
}

function metricFor(name: string): StatMetric {
  const mean = (scale: number) => (summed: readonly number[], count: number) => (count ? (scale * summed[0]) / count : 0);
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
      return { stats: (p, r) => [rouge.score(r, p)[type].fmeasure], score: mean(1) };
    }
    case 'exact_match':
      return { stats: (p, r) => [exactMatch(p, r)], score: mean(100) };
    case 'f1':
      return { stats: (p, r) => [tokenF1(p, r)], score: mean(100) };
    case 'accuracy':
      return { stats: (p, r) => [p.trim() === r.trim() ? 1 : 0], score: mean(1) };
    default:
      throw new FinetuneError('INVALID_INPUT', `Unknown metric '${name}'; use ${TEXT_METRICS.join(', ')}.`, { details: { field: 'metrics' } });
  }
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
}

/** A TextScorer for the named metrics (validated up front, so a typo fails before any work). */
export function textScorer(metrics: string[], options: BootstrapOptions = {}): TextScorer {
  const defs = new Map(metrics.map((m) => [m, metricFor(m)]));
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 12345;
  const get = (m: string) => defs.get(m) ?? metricFor(m);
  const statsOf = (m: StatMetric, predictions: string[], references: string[]) => predictions.map((p, i) => m.stats(p, references[i]));
  return {
    corpus(metric, predictions, references) {
      const m = get(metric);
      return m.score(sum(statsOf(m, predictions, references)), predictions.length);
    },
    perExample(metric, predictions, references) {
      const m = get(metric);
      return predictions.map((p, i) => m.score(m.stats(p, references[i]), 1));
    },
    pairedBootstrap(metric, baseline, candidate, references) {
      return pairedBootstrap(get(metric), statsOf(get(metric), baseline, references), statsOf(get(metric), candidate, references), resamples, seed);
    },
  };
}

/**
 * Paired bootstrap resampling (Koehn 2004), as sacreBLEU's paired-bs test: both systems are
 * scored on the same resampled example sets; the p-value counts mean-centred resampled deltas at
 * least as large as the observed one, (c + 1) / (n + 1). The interval is the 2.5–97.5 percentile delta.
 */
function pairedBootstrap(m: StatMetric, base: number[][], cand: number[][], resamples: number, seed: number): { p_value: number; ci: [number, number] } {
  const n = base.length;
  const observed = m.score(sum(cand), n) - m.score(sum(base), n);
  const rng = Prng.fromSeed(seed);
  const deltas = new Float64Array(resamples);
  const width = base[0]?.length ?? 0;
  const b = new Float64Array(width);
  const c = new Float64Array(width);
  for (let s = 0; s < resamples; s++) {
    b.fill(0);
    c.fill(0);
    for (let k = 0; k < n; k++) {
      const i = rng.nextInt(n);
      for (let j = 0; j < width; j++) {
        b[j] += base[i][j];
        c[j] += cand[i][j];
      }
    }
    deltas[s] = m.score(Array.from(c), n) - m.score(Array.from(b), n);
  }
  let meanDelta = 0;
  for (const d of deltas) meanDelta += d / resamples;
  let atLeast = 0;
  for (const d of deltas) if (Math.abs(d - meanDelta) >= Math.abs(observed)) atLeast++;
  const sorted = Array.from(deltas).sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { p_value: (atLeast + 1) / (resamples + 1), ci: [at(0.025), at(0.975)] };
}

function sum(rows: number[][]): number[] {
  const out = new Array<number>(rows[0]?.length ?? 0).fill(0);
  for (const row of rows) for (let j = 0; j < row.length; j++) out[j] += row[j];
  return out;
}
