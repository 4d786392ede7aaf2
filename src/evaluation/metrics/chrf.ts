/**
 * chrF and chrF++ compatible with sacreBLEU 2.x: character n-grams 1..6 with whitespace removed,
 * plus word n-grams 1..2 for chrF++ (punctuation split off word edges), β = 2, effective-order
 * averaging of precision and recall (sacreBLEU's default, `eps_smoothing=False`). Scores are on 0–100.
 */
import { SACREBLEU_COMPAT_VERSION } from './bleu.js';
import { pySplit } from './text.js';

interface ChrfOptions {
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
type ChrfStats = number[];

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

  /** The text character n-grams are taken from: lowercased when asked, whitespace removed unless kept. */
  private charText(segment: string): string {
    const text = this.lowercase ? segment.toLowerCase() : segment;
    return this.whitespace ? text : pySplit(text).join('');
  }

  /**
   * All n-gram counters of each segment: character orders, then word orders. One alphabet covers
   * all the segments, so numeric character n-gram keys match between a hypothesis and its references.
   */
  ngrams(segments: readonly string[]): Map<NgramKey, number>[][] {
    const alphabet = new Map<number, number>();
    const charTexts = segments.map((s) => this.charText(s));
    const ids = charTexts.map((t) => characterIds(t, alphabet));
    const numeric = alphabet.size < MAX_NUMERIC_BASE && MAX_NUMERIC_BASE ** this.charOrder < Number.MAX_SAFE_INTEGER;
    return segments.map((segment, k) => {
      const counters = charNgrams(ids[k], this.charOrder, numeric ? undefined : Array.from(charTexts[k]));
      if (this.wordOrder > 0) {
        const words = splitPunctuation(this.lowercase ? segment.toLowerCase() : segment);
        for (let n = 1; n <= this.wordOrder; n++) counters.push(wordNgrams(words, n));
      }
      return counters;
    });
  }

  /** Statistics against the reference with the best F-score (sacreBLEU's multi-reference rule). */
  segmentStats(hypothesis: string, references: readonly string[]): ChrfStats {
    return this.best(this.statsPerReference(hypothesis, references));
  }

  /** [hyp, ref, match] statistics of every order against each reference. */
  statsPerReference(hypothesis: string, references: readonly string[]): ChrfStats[] {
    const [hyp, ...refs] = this.ngrams([hypothesis, ...references]);
    return refs.map((ref) => {
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

function matchStats(hyp: ReadonlyMap<NgramKey, number>, ref: ReadonlyMap<NgramKey, number>): [number, number, number] {
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

/** A character n-gram as a number (ids in base alphabet size), or as its text when the alphabet is too large for that. */
type NgramKey = number | string;

/** Beyond this base, a 6-gram of ids would not fit in a double's 53-bit integer range. */
const MAX_NUMERIC_BASE = 400;

/** Ids (from 1) of a text's code points in an alphabet that grows as new characters appear. */
function characterIds(text: string, alphabet: Map<number, number>): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    let id = alphabet.get(cp);
    if (id === undefined) {
      id = alphabet.size + 1;
      alphabet.set(cp, id);
    }
    out[n++] = id;
  }
  return out.subarray(0, n);
}

/**
 * Character n-gram counts of orders 1..maxOrder (characters are code points, as Python's str).
 * Keys are numbers (`key·B + id`, B = MAX_NUMERIC_BASE), cheaper to hash than substrings; when
 * the segments use too many distinct characters for that, `chars` is given and keys are text.
 */
function charNgrams(ids: Uint32Array, maxOrder: number, chars?: readonly string[]): Map<NgramKey, number>[] {
  const counters: Map<NgramKey, number>[] = [];
  for (let n = 0; n < maxOrder; n++) counters.push(new Map());
  for (let i = 0; i < ids.length; i++) {
    let key: NgramKey = chars ? '' : 0;
    const last = Math.min(maxOrder, ids.length - i);
    for (let n = 0; n < last; n++) {
      key = chars ? (key as string) + chars[i + n] : (key as number) * MAX_NUMERIC_BASE + ids[i + n];
      const counts = counters[n];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
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
