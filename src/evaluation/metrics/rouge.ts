/**
 * ROUGE-N and ROUGE-L compatible with Google's rouge-score (`RougeScorer(..., use_stemmer)`):
 * lowercase, every run of characters outside [a-z0-9] becomes a space, optional Porter stemming
 * of tokens longer than 3 characters, n-gram overlap or LCS, F1 (β = 1). With several references
 * the best one by F-measure wins per ROUGE type (rouge-score's `score_multi`). Values in 0–1.
 */
import { porterStem } from './porter.js';

export type RougeType = 'rouge1' | 'rouge2' | 'rougeL' | `rouge${number}`;

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  types?: readonly RougeType[];
  use_stemmer?: boolean;
}

const NON_ALPHANUMERIC = /[^a-z0-9]+/g;

/** rouge-score's `tokenize.tokenize`. */
export function rougeTokenize(text: string, useStemmer: boolean, stemCache?: Map<string, string>): string[] {
  const tokens = text.toLowerCase().replace(NON_ALPHANUMERIC, ' ').split(' ');
  const out: string[] = [];
  for (const token of tokens) {
    if (token === '') continue;
    if (useStemmer && token.length > 3) {
      let stem = stemCache?.get(token);
      if (stem === undefined) {
        stem = porterStem(token);
        stemCache?.set(token, stem);
      }
      // rouge-score keeps only tokens that still match ^[a-z0-9]+$ after stemming
      if (stem !== '') out.push(stem);
    } else {
      out.push(token);
    }
  }
  return out;
}

export class RougeScorer {
  readonly types: readonly RougeType[];
  readonly useStemmer: boolean;
  private readonly stemCache = new Map<string, string>();

  constructor(options: RougeOptions = {}) {
    this.types = options.types ?? ['rouge1', 'rouge2', 'rougeL'];
    this.useStemmer = options.use_stemmer ?? false;
    for (const type of this.types) {
      if (type !== 'rougeL' && !/^rouge[1-9]$/.test(type)) throw new Error(`Invalid rouge type: ${type}`);
    }
  }

  tokenize(text: string): string[] {
    // The cache only memoises a pure function; bound it so a long run cannot grow it forever.
    if (this.stemCache.size > 200_000) this.stemCache.clear();
    return rougeTokenize(text, this.useStemmer, this.stemCache);
  }

  /** rouge-score's `score(target, prediction)`. */
  score(target: string, prediction: string): Record<string, RougeScore> {
    return this.scoreTokens(this.tokenize(target), this.tokenize(prediction));
  }

  /** The best reference per type by F-measure (rouge-score's `score_multi`). */
  scoreMulti(targets: readonly string[], prediction: string): Record<string, RougeScore> {
    const predictionTokens = this.tokenize(prediction);
    const best: Record<string, RougeScore> = {};
    for (const target of targets) {
      const scores = this.scoreTokens(this.tokenize(target), predictionTokens);
      for (const type of this.types) {
        if (best[type] === undefined || scores[type].fmeasure > best[type].fmeasure) best[type] = scores[type];
      }
    }
    if (targets.length === 0) for (const type of this.types) best[type] = { precision: 0, recall: 0, fmeasure: 0 };
    return best;
  }

  private scoreTokens(target: readonly string[], prediction: readonly string[]): Record<string, RougeScore> {
    const result: Record<string, RougeScore> = {};
    for (const type of this.types) {
      result[type] = type === 'rougeL' ? scoreLcs(target, prediction) : scoreNgrams(target, prediction, Number(type.slice(5)));
    }
    return result;
  }
}

export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0.0;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function scoreNgrams(target: readonly string[], prediction: readonly string[], n: number): RougeScore {
  const targetNgrams = ngramCounts(target, n);
  const predictionNgrams = ngramCounts(prediction, n);
  let overlap = 0;
  for (const [ngram, count] of targetNgrams) overlap += Math.min(count, predictionNgrams.get(ngram) ?? 0);
  const targetCount = Math.max(target.length - n + 1, 0);
  const predictionCount = Math.max(prediction.length - n + 1, 0);
  const precision = overlap / Math.max(predictionCount, 1);
  const recall = overlap / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** LCS length with one row of the DP table (O(min) memory, same result as rouge-score's full table). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const [rows, cols] = a.length >= b.length ? [a, b] : [b, a];
  let previous = new Uint32Array(cols.length + 1);
  let current = new Uint32Array(cols.length + 1);
  for (let i = 1; i <= rows.length; i++) {
    const token = rows[i - 1];
    for (let j = 1; j <= cols.length; j++) {
      current[j] = token === cols[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[cols.length];
}

function scoreLcs(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}
