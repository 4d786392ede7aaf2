/**
 * Corpus BLEU compatible with sacreBLEU 2.x (mjpost/sacrebleu): the same tokenizers (13a by
 * default, none, intl, char), smoothing (exp, floor, add-k, none), closest-reference length and
 * multi-reference clipping, and the same reproducibility signature. Scores are on 0–100.
 */
import { pyRstrip, pySplit } from './text.js';
import { BLEU_TOKENIZER_FUNCTIONS, type BleuTokenizer } from './tokenizers.js';

export { tokenize13a, tokenizeChar, tokenizeIntl, type BleuTokenizer } from './tokenizers.js';
export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none';

/** The sacreBLEU release whose behaviour (and signature `version:`) this reproduces. */
export const SACREBLEU_COMPAT_VERSION = '2.6.0';

const SMOOTH_DEFAULTS: Record<BleuSmoothing, number | undefined> = { none: undefined, floor: 0.1, 'add-k': 1, exp: undefined };
/** sacreBLEU's floor for log(0). */
const LOG_ZERO = -9999999999;

interface BleuOptions {
  tokenize?: BleuTokenizer;
  smooth_method?: BleuSmoothing;
  /** For floor (default 0.1) and add-k (default 1). */
  smooth_value?: number;
  lowercase?: boolean;
  max_ngram_order?: number;
  /** Drop n-gram orders with no hypothesis n-grams (use for sentence BLEU). */
  effective_order?: boolean;
}

interface BleuScore {
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
}

/** Segment statistics, flat like sacreBLEU's: [hyp_len, ref_len, correct_1..N, total_1..N]. */
type BleuStats = number[];

export class Bleu {
  readonly tokenize: BleuTokenizer;
  readonly smoothMethod: BleuSmoothing;
  readonly smoothValue: number | undefined;
  readonly lowercase: boolean;
  readonly maxOrder: number;
  readonly effectiveOrder: boolean;
  private readonly tokenizer: (line: string) => string;

  constructor(options: BleuOptions = {}) {
    this.tokenize = options.tokenize ?? '13a';
    this.smoothMethod = options.smooth_method ?? 'exp';
    this.smoothValue = options.smooth_value;
    this.lowercase = options.lowercase ?? false;
    this.maxOrder = options.max_ngram_order ?? 4;
    this.effectiveOrder = options.effective_order ?? false;
    this.tokenizer = BLEU_TOKENIZER_FUNCTIONS[this.tokenize];
  }

  /** Lowercases (when asked) and tokenizes one segment, as sacreBLEU's `_preprocess_segment`. */
  preprocess(segment: string): string {
    return this.tokenizer(pyRstrip(this.lowercase ? segment.toLowerCase() : segment));
  }

  /** Statistics of one hypothesis against its references (clipped by the max count over references). */
  segmentStats(hypothesis: string, references: readonly string[]): BleuStats {
    const order = this.maxOrder;
    const [hypTokens, ...refTokens] = [hypothesis, ...references].map((segment) => pySplit(this.preprocess(segment)));
    // One vocabulary for the hypothesis and its references, so numeric n-gram keys match.
    const vocabulary = new Map<string, number>();
    const hypIds = tokenIds(hypTokens, vocabulary);
    const refIds = refTokens.map((tokens) => tokenIds(tokens, vocabulary));
    const base = vocabulary.size + 1;
    const keyOf = base ** order < Number.MAX_SAFE_INTEGER ? undefined : [hypTokens, ...refTokens];

    const refNgrams: Map<NgramKey, number>[] = [];
    refIds.forEach((ids, r) => {
      const ngrams = countNgrams(ids, order, base, keyOf?.[r + 1]);
      if (r === 0) {
        refNgrams.push(...ngrams);
        return;
      }
      for (let n = 0; n < order; n++) {
        const merged = refNgrams[n];
        for (const [ngram, count] of ngrams[n]) if (count > (merged.get(ngram) ?? 0)) merged.set(ngram, count);
      }
    });
    const hypNgrams = countNgrams(hypIds, order, base, keyOf?.[0]);
    const stats = new Array<number>(2 + 2 * order).fill(0);
    stats[0] = hypIds.length;
    stats[1] = closestRefLength(hypIds.length, refIds.map((ids) => ids.length));
    for (let n = 0; n < order; n++) {
      const refs = refNgrams[n];
      let correct = 0;
      let total = 0;
      for (const [ngram, count] of hypNgrams[n]) {
        total += count;
        const refCount = refs?.get(ngram);
        if (refCount !== undefined) correct += count < refCount ? count : refCount;
      }
      stats[2 + n] = correct;
      stats[2 + order + n] = total;
    }
    return stats;
  }

  /** The score from summed statistics. */
  scoreFromStats(stats: ArrayLike<number>): BleuScore {
    const s = Array.from(stats);
    const n = this.maxOrder;
    return computeBleu({
      correct: s.slice(2, 2 + n),
      total: s.slice(2 + n, 2 + 2 * n),
      sys_len: s[0],
      ref_len: s[1],
      smooth_method: this.smoothMethod,
      smooth_value: this.smoothValue,
      effective_order: this.effectiveOrder,
      max_ngram_order: n,
    });
  }

  /** Corpus BLEU. `references[i]` holds every reference of hypothesis i. */
  corpusScore(hypotheses: readonly string[], references: readonly (readonly string[])[]): BleuScore {
    return this.scoreFromStats(sumStats(hypotheses.map((h, i) => this.segmentStats(h, references[i] ?? []))));
  }

  sentenceScore(hypothesis: string, references: readonly string[]): BleuScore {
    return this.scoreFromStats(this.segmentStats(hypothesis, references));
  }

  /** sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`. */
  signature(nrefs: number | 'var', extra: { bs?: number; seed?: number } = {}): string {
    const defaultValue = SMOOTH_DEFAULTS[this.smoothMethod];
    const smooth = defaultValue === undefined ? this.smoothMethod : `${this.smoothMethod}[${(this.smoothValue ?? defaultValue).toFixed(2)}]`;
    return [
      `nrefs:${nrefs}`,
      ...(extra.bs !== undefined ? [`bs:${extra.bs}`] : []),
      ...(extra.seed !== undefined ? [`seed:${extra.seed}`] : []),
      `case:${this.lowercase ? 'lc' : 'mixed'}`,
      `eff:${this.effectiveOrder ? 'yes' : 'no'}`,
      `tok:${this.tokenize}`,
      `smooth:${smooth}`,
      `version:${SACREBLEU_COMPAT_VERSION}`,
    ].join('|');
  }
}

interface ComputeBleuInput {
  correct: readonly number[];
  total: readonly number[];
  sys_len: number;
  ref_len: number;
  smooth_method?: BleuSmoothing;
  smooth_value?: number;
  effective_order?: boolean;
  max_ngram_order?: number;
}

/** BLEU from sufficient statistics: sacreBLEU's `BLEU.compute_bleu`, step for step. */
export function computeBleu(input: ComputeBleuInput): BleuScore {
  const method = input.smooth_method ?? 'none';
  const smoothValue = input.smooth_value ?? SMOOTH_DEFAULTS[method] ?? 0;
  const maxOrder = input.max_ngram_order ?? 4;
  const correct = [...input.correct];
  const total = [...input.total];
  const { sys_len: sysLen, ref_len: refLen } = input;
  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number): BleuScore => ({ score, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen });
  if (!correct.some((c) => c !== 0)) return result(0.0);

  let smoothMteval = 1.0;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (method === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (input.effective_order) effOrder = n;
    if (correct[n - 1] === 0) {
      if (method === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (method === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += precisions[i] === 0 ? LOG_ZERO : Math.log(precisions[i]);
  return result(bp * Math.exp(logSum / effOrder));
}

function sumStats(rows: readonly (readonly number[])[]): number[] {
  if (rows.length === 0) return [];
  const out = new Array<number>(rows[0].length).fill(0);
  for (const row of rows) for (let i = 0; i < row.length; i++) out[i] += row[i];
  return out;
}

/** The reference length closest to the hypothesis length; ties go to the shorter reference. */
function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) {
      closestLen = refLen;
    }
  }
  return closestLen;
}

/** An n-gram as a number (token ids in base vocabulary size + 1) or, for huge vocabularies, as its tokens joined by spaces. */
type NgramKey = number | string;

function tokenIds(tokens: readonly string[], vocabulary: Map<string, number>): Uint32Array {
  const ids = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    let id = vocabulary.get(tokens[i]);
    if (id === undefined) {
      id = vocabulary.size + 1;
      vocabulary.set(tokens[i], id);
    }
    ids[i] = id;
  }
  return ids;
}

/**
 * N-gram counts of orders 1..maxOrder, one map per order (index n-1). Keys are numbers, built
 * incrementally as key·base + id (cheaper to hash than joined strings); when base^maxOrder would
 * pass 2^53 the tokens are given and keys are the tokens joined by spaces (tokens never hold one).
 */
function countNgrams(ids: Uint32Array, maxOrder: number, base: number, tokens?: readonly string[]): Map<NgramKey, number>[] {
  const ngrams: Map<NgramKey, number>[] = [];
  for (let n = 0; n < maxOrder; n++) ngrams.push(new Map());
  for (let i = 0; i < ids.length; i++) {
    let key: NgramKey = tokens ? tokens[i] : ids[i];
    const last = Math.min(maxOrder, ids.length - i);
    for (let n = 0; n < last; n++) {
      if (n > 0) key = tokens ? `${key} ${tokens[i + n]}` : (key as number) * base + ids[i + n];
      const counts = ngrams[n];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return ngrams;
}
