/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum compatible with Google's rouge-score (`RougeScorer(...,
 * use_stemmer)`): lowercase, every run of characters outside [a-z0-9] becomes a space, optional
 * Porter stemming of tokens longer than 3 characters, n-gram overlap, LCS, or summary-level LCS
 * over newline-separated sentences; F1 (β = 1). With several references the best one by
 * F-measure wins per ROUGE type (rouge-score's `score_multi`). Values in 0–1.
 */
import { porterStem } from './porter.js';

export type RougeType = 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLsum' | `rouge${number}`;

interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

interface RougeOptions {
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
      if (type !== 'rougeL' && type !== 'rougeLsum' && !/^rouge[1-9]$/.test(type)) throw new Error(`Invalid rouge type: ${type}`);
    }
  }

  tokenize(text: string): string[] {
    // The cache only memoises a pure function; bound it so a long run cannot grow it forever.
    if (this.stemCache.size > 200_000) this.stemCache.clear();
    return rougeTokenize(text, this.useStemmer, this.stemCache);
  }

  /** rouge-score's `score(target, prediction)`. */
  score(target: string, prediction: string): Record<string, RougeScore> {
    return this.scoreTexts(target, this.prepare(prediction));
  }

  /** The best reference per type by F-measure (rouge-score's `score_multi`). */
  scoreMulti(targets: readonly string[], prediction: string): Record<string, RougeScore> {
    const preparedPrediction = this.prepare(prediction);
    const best: Record<string, RougeScore> = {};
    for (const target of targets) {
      const scores = this.scoreTexts(target, preparedPrediction);
      for (const type of this.types) {
        if (best[type] === undefined || scores[type].fmeasure > best[type].fmeasure) best[type] = scores[type];
      }
    }
    if (targets.length === 0) for (const type of this.types) best[type] = { precision: 0, recall: 0, fmeasure: 0 };
    return best;
  }

  /** A text tokenized whole, and per sentence when ROUGE-Lsum is asked for. */
  private prepare(text: string): Prepared {
    const wantsSentences = this.types.includes('rougeLsum');
    return { tokens: this.tokenize(text), sentences: wantsSentences ? sentences(text).map((s) => this.tokenize(s)) : [] };
  }

  private scoreTexts(target: string, prediction: Prepared): Record<string, RougeScore> {
    const t = this.prepare(target);
    const result: Record<string, RougeScore> = {};
    for (const type of this.types) {
      result[type] =
        type === 'rougeL' ? scoreLcs(t.tokens, prediction.tokens)
        : type === 'rougeLsum' ? summaryLevelLcs(t.sentences, prediction.sentences)
        : scoreNgrams(t.tokens, prediction.tokens, Number(type.slice(5)));
    }
    return result;
  }
}

interface Prepared {
  tokens: string[];
  sentences: string[][];
}

/** rouge-score's `get_sents`: sentences are the non-empty lines. */
function sentences(text: string): string[] {
  return text.split('\n').filter((s) => s.length > 0);
}

function fmeasure(precision: number, recall: number): number {
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
function lcsLength(a: readonly string[], b: readonly string[]): number {
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

/** The full LCS table (rows: a, columns: b), for reading one LCS back. */
function lcsTable(a: readonly string[], b: readonly string[]): Uint32Array[] {
  const table = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i][j] = a[i - 1] === b[j - 1] ? table[i - 1][j - 1] + 1 : Math.max(table[i - 1][j], table[i][j - 1]);
    }
  }
  return table;
}

/** Indices into `ref` of one LCS with `can`, read back exactly as rouge-score's `_backtrack_norec`. */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i][j - 1] > t[i - 1][j]) {
      j--;
    } else {
      i--;
    }
  }
  return out;
}

/** rouge-score's `_summary_level_lcs`: union LCS of each reference sentence, hits capped by token counts. */
function summaryLevelLcs(refSentences: readonly string[][], canSentences: readonly string[][]): RougeScore {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (refSentences.length === 0 || canSentences.length === 0) return zero;
  const m = refSentences.reduce((a, s) => a + s.length, 0);
  const n = canSentences.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return zero;
  const refCounts = new Map<string, number>();
  const canCounts = new Map<string, number>();
  for (const s of refSentences) for (const t of s) refCounts.set(t, (refCounts.get(t) ?? 0) + 1);
  for (const s of canSentences) for (const t of s) canCounts.set(t, (canCounts.get(t) ?? 0) + 1);
  let hits = 0;
  for (const ref of refSentences) {
    const union = new Set<number>();
    for (const can of canSentences) for (const index of lcsIndices(ref, can)) union.add(index);
    for (const index of [...union].sort((a, b) => a - b)) {
      const token = ref[index];
      const c = canCounts.get(token) ?? 0;
      const r = refCounts.get(token) ?? 0;
      if (c > 0 && r > 0) {
        hits++;
        canCounts.set(token, c - 1);
        refCounts.set(token, r - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}
