/**
 * chrF and chrF++ compatible with sacreBLEU 2.x: character n-grams 1..6 with whitespace removed,
 * plus word n-grams 1..2 for chrF++ (punctuation split off word edges), β = 2, effective-order
 * averaging of precision and recall (sacreBLEU's default, `eps_smoothing=False`). Scores are on 0–100.
 */
import { SACREBLEU_COMPAT_VERSION } from './bleu.js';
import { pySplit } from './text.js';

export interface ChrfOptions {
  char_order?: number;
  /** 0 for chrF, 2 for chrF++. */
  word_order?: number;
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. */
  whitespace?: boolean;
  /** chrF++.py-style epsilon smoothing instead of effective order. */
  eps_smoothing?: boolean;
}

const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
const EPS = 1e-16;

/** Segment statistics: per order [hyp count, ref count, matches], flattened. */
export type ChrfStats = number[];

export class Chrf {
  readonly charOrder: number;
  readonly wordOrder: number;
  readonly beta: number;
  readonly lowercase: boolean;
  readonly whitespace: boolean;
  readonly epsSmoothing: boolean;

  constructor(options: ChrfOptions = {}) {
    this.charOrder = options.char_order ?? 6;
    this.wordOrder = options.word_order ?? 0;
    this.beta = options.beta ?? 2;
    this.lowercase = options.lowercase ?? false;
    this.whitespace = options.whitespace ?? false;
    this.epsSmoothing = options.eps_smoothing ?? false;
  }

  /** `chrF2` or `chrF2++`. */
  get name(): string {
    return `chrF${this.beta}${'+'.repeat(this.wordOrder)}`;
  }

  /** All n-gram counters of one segment: character orders, then word orders. */
  ngrams(segment: string): Map<string, number>[] {
    const text = this.lowercase ? segment.toLowerCase() : segment;
    const counters = charNgrams(this.whitespace ? text : pySplit(text).join(''), this.charOrder);
    if (this.wordOrder > 0) {
      const words = splitPunctuation(text);
      for (let n = 1; n <= this.wordOrder; n++) counters.push(wordNgrams(words, n));
    }
    return counters;
  }

  /** Statistics against the reference with the best F-score (sacreBLEU's multi-reference rule). */
  segmentStats(hypothesis: string, references: readonly string[]): ChrfStats {
    return this.best(this.statsPerReference(hypothesis, references));
  }

  /** [hyp, ref, match] statistics of every order against each reference. */
  statsPerReference(hypothesis: string, references: readonly string[]): ChrfStats[] {
    const hyp = this.ngrams(hypothesis);
    return references.map((reference) => {
      const ref = this.ngrams(reference);
      const stats: number[] = [];
      for (let i = 0; i < hyp.length; i++) stats.push(...matchStats(hyp[i], ref[i]));
      return stats;
    });
  }

  /**
   * The statistics with the best F-score; the first wins ties, as in sacreBLEU. Statistics of a
   * chrF++ with the same character settings also serve here: only this metric's orders are read.
   */
  best(candidates: readonly ChrfStats[]): ChrfStats {
    const width = 3 * (this.charOrder + this.wordOrder);
    let best: ChrfStats = [];
    let bestF = -1;
    for (const stats of candidates) {
      const f = this.fScore(stats);
      if (f > bestF) {
        bestF = f;
        best = stats.length === width ? stats : stats.slice(0, width);
      }
    }
    return best;
  }

  /** sacreBLEU's `_compute_f_score` on summed statistics. */
  fScore(stats: ArrayLike<number>): number {
    const order = this.charOrder + this.wordOrder;
    const factor = this.beta ** 2;
    let score = 0;
    let effectiveOrder = 0;
    let avgPrec = 0;
    let avgRec = 0;
    for (let i = 0; i < order; i++) {
      const nHyp = stats[3 * i] ?? 0;
      const nRef = stats[3 * i + 1] ?? 0;
      const nMatch = stats[3 * i + 2] ?? 0;
      const prec = nHyp > 0 ? nMatch / nHyp : EPS;
      const rec = nRef > 0 ? nMatch / nRef : EPS;
      const denom = factor * prec + rec;
      score += denom > 0 ? ((1 + factor) * prec * rec) / denom : EPS;
      if (nHyp > 0 && nRef > 0) {
        avgPrec += prec;
        avgRec += rec;
        effectiveOrder += 1;
      }
    }
    if (this.epsSmoothing) return (100 * score) / order;
    if (effectiveOrder === 0) {
      avgPrec = 0;
      avgRec = 0;
    } else {
      avgPrec /= effectiveOrder;
      avgRec /= effectiveOrder;
    }
    if (avgPrec + avgRec) {
      return (100 * ((1 + factor) * avgPrec * avgRec)) / (factor * avgPrec + avgRec);
    }
    return 0.0;
  }

  corpusScore(hypotheses: readonly string[], references: readonly (readonly string[])[]): number {
    const total = new Array<number>(3 * (this.charOrder + this.wordOrder)).fill(0);
    hypotheses.forEach((h, i) => {
      const stats = this.segmentStats(h, references[i] ?? []);
      for (let k = 0; k < stats.length; k++) total[k] += stats[k];
    });
    return this.fScore(total);
  }

  sentenceScore(hypothesis: string, references: readonly string[]): number {
    return this.fScore(this.segmentStats(hypothesis, references));
  }

  /** e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`. */
  signature(nrefs: number | 'var', extra: { bs?: number; seed?: number } = {}): string {
    return [
      `nrefs:${nrefs}`,
      ...(extra.bs !== undefined ? [`bs:${extra.bs}`] : []),
      ...(extra.seed !== undefined ? [`seed:${extra.seed}`] : []),
      `case:${this.lowercase ? 'lc' : 'mixed'}`,
      `eff:${this.epsSmoothing ? 'no' : 'yes'}`,
      `nc:${this.charOrder}`,
      `nw:${this.wordOrder}`,
      `space:${this.whitespace ? 'yes' : 'no'}`,
      `version:${SACREBLEU_COMPAT_VERSION}`,
    ].join('|');
  }
}

function matchStats(hyp: ReadonlyMap<string, number>, ref: ReadonlyMap<string, number>): [number, number, number] {
  let hypCount = 0;
  let matches = 0;
  for (const [ngram, count] of hyp) {
    hypCount += count;
    const refCount = ref.get(ngram);
    if (refCount !== undefined) matches += Math.min(count, refCount);
  }
  let refCount = 0;
  for (const count of ref.values()) refCount += count;
  // sacreBLEU: hypothesis n-grams count only when the reference has n-grams of that order
  return [ref.size > 0 ? hypCount : 0, refCount, matches];
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Character n-gram counts of orders 1..maxOrder (characters are code points, as Python's str). */
function charNgrams(text: string, maxOrder: number): Map<string, number>[] {
  const counters: Map<string, number>[] = [];
  // Fast path: without surrogate pairs a UTF-16 unit is a code point, so substrings are n-grams.
  const chars: string | string[] = SURROGATE.test(text) ? Array.from(text) : text;
  const length = chars.length;
  for (let n = 1; n <= maxOrder; n++) {
    const counts = new Map<string, number>();
    for (let i = 0; i + n <= length; i++) {
      const key = typeof chars === 'string' ? chars.substring(i, i + n) : chars.slice(i, i + n).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    counters.push(counts);
  }
  return counters;
}

function wordNgrams(words: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= words.length; i++) {
    const key = n === 1 ? words[i] : words.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** chrF++'s word splitting: one punctuation mark is split off the end (or else the start) of a word. */
function splitPunctuation(text: string): string[] {
  const out: string[] = [];
  for (const word of pySplit(text)) {
    const chars = Array.from(word);
    if (chars.length === 1) out.push(word);
    else if (PUNCTUATION.has(chars[chars.length - 1])) out.push(chars.slice(0, -1).join(''), chars[chars.length - 1]);
    else if (PUNCTUATION.has(chars[0])) out.push(chars[0], chars.slice(1).join(''));
    else out.push(word);
  }
  return out;
}
