import { describe, expect, it } from 'vitest';
import { Bleu, computeBleu, type BleuSmoothing, type BleuTokenizer } from '../../src/evaluation/metrics/bleu.js';
import { expected, perSegment, readJson, readPairs } from './fixtures.js';

/** sacreBLEU's own test tolerance (test_bleu.py EPSILON). */
const EPSILON = 1e-8;
const cases = readJson('sacrebleu_reference_cases.json');

/** sacreBLEU's `raw_corpus_bleu`: no tokenization, floor smoothing, effective order. */
function rawCorpusBleu(hyps: string[], streams: string[][], smoothValue?: number) {
  return new Bleu({ tokenize: 'none', smooth_method: 'floor', smooth_value: smoothValue, effective_order: true }).corpusScore(hyps, perSegment(streams));
}

describe('BLEU against sacreBLEU test_bleu.py', () => {
  const { hyps, refs_streams: streams } = cases.corpus_bleu;

  it.each(cases.corpus_bleu.cases as Array<{ hyps?: string[]; kwargs: { tokenize?: BleuTokenizer; smooth_method?: BleuSmoothing }; expected_score: number }>)(
    'corpus_bleu %j',
    (c) => {
      const score = new Bleu(c.kwargs).corpusScore(c.hyps ?? hyps, perSegment(streams)).score;
      expect(Math.abs(score - c.expected_score)).toBeLessThan(EPSILON);
    },
  );

  it.each(cases.corpus_bleu.max_ngram_order as Array<{ max_ngram_order: number; expected_score_2dp: string }>)('max_ngram_order %j', (c) => {
    expect(new Bleu({ max_ngram_order: c.max_ngram_order }).corpusScore(hyps, perSegment(streams)).score.toFixed(2)).toBe(c.expected_score_2dp);
  });

  it.each([...cases['raw_corpus_bleu_floor_0.01'], ...cases['effective_order_raw_corpus_bleu_floor_0.01']])('raw_corpus_bleu %j', (c) => {
    expect(Math.abs(rawCorpusBleu(c.hyps, c.refs_streams, 0.01).score / 100 - c.expected_score_fraction)).toBeLessThan(EPSILON);
  });

  it('counts and totals', () => {
    const c = cases.statistics[0];
    const score = rawCorpusBleu(c.hyps, c.refs_streams, 0.01);
    expect(score.counts).toEqual(c.counts);
    expect(score.totals).toEqual(c.totals);
  });

  it('compute_bleu from statistics, default and degenerate', () => {
    const s = cases.compute_bleu_from_stats[0];
    const score = computeBleu({ correct: s.counts, total: s.totals, sys_len: s.sys_len, ref_len: s.ref_len }).score / 100;
    expect(Math.abs(score - s.expected_score_fraction)).toBeLessThan(EPSILON);
    for (const d of cases.degenerate_stats_floor) {
      const value = computeBleu({ correct: d.counts, total: d.totals, sys_len: d.sys_len, ref_len: d.ref_len, smooth_method: 'floor', smooth_value: d.smooth_value });
      expect(value.score / 100).toBe(d.expected);
    }
  });

  it('floor offset: 0 and the default 0.1', () => {
    const c = cases.offset[0];
    expect(Math.abs(rawCorpusBleu(c.hyps, c.refs_streams, 0).score / 100 - c.expected_with_floor_0)).toBeLessThan(EPSILON);
    expect(Math.abs(rawCorpusBleu(c.hyps, c.refs_streams).score / 100 - c.expected_with_default_floor_0_1)).toBeLessThan(EPSILON);
  });
});

describe('sentence BLEU against sacreBLEU test_sentence_bleu.py', () => {
  for (const key of ['sentence_bleu', 'sentence_bleu_zero'] as const) {
    const group = cases[key];
    it.each(group.cases as Array<{ smooth_method: BleuSmoothing; smooth_value: number | null; lowercase: boolean; tokenize: BleuTokenizer; expected_score: number }>)(
      `${key} %j`,
      (c) => {
        const bleu = new Bleu({ smooth_method: c.smooth_method, smooth_value: c.smooth_value ?? undefined, lowercase: c.lowercase, tokenize: c.tokenize, effective_order: true });
        const score = bleu.sentenceScore(group.hyp, [group.ref]).score;
        expect(Math.abs(score - c.expected_score)).toBeLessThan(group.tolerance ?? EPSILON);
      },
    );
  }
});

describe('BLEU on real pairs against sacreBLEU 2.6.0 (expected_values.json)', () => {
  for (const set of ['emailsum20', 'wmt17_ende20'] as const) {
    const pairs = readPairs(`${set}.jsonl`);
    const hyps = pairs.map((p) => p.hypothesis);
    const refs = pairs.map((p) => [p.reference]);
    const want = expected[set];

    it.each(['13a', 'none', 'intl', 'char'] as const)(`${set}: corpus BLEU, tokenize %s, with statistics and signature`, (tok) => {
      const bleu = new Bleu({ tokenize: tok });
      const got = bleu.corpusScore(hyps, refs);
      const ref = want[`corpus_bleu_${tok}`];
      expect(got.counts).toEqual(ref.counts);
      expect(got.totals).toEqual(ref.totals);
      expect([got.sys_len, got.ref_len]).toEqual([ref.sys_len, ref.ref_len]);
      expect(got.score).toBeCloseTo(ref.score, 10);
      expect(got.bp).toBeCloseTo(ref.bp, 12);
      expect(bleu.signature(1)).toBe(ref.signature);
    });

    it(`${set}: lowercase and the other smoothing methods`, () => {
      expect(new Bleu({ lowercase: true }).corpusScore(hyps, refs).score).toBeCloseTo(want.corpus_bleu_lowercase, 10);
      for (const smooth of ['none', 'floor', 'add-k'] as const) {
        expect(new Bleu({ smooth_method: smooth }).corpusScore(hyps, refs).score).toBeCloseTo(want[`corpus_bleu_smooth_${smooth}`], 10);
      }
    });

    it(`${set}: sentence BLEU (effective order) per pair`, () => {
      const bleu = new Bleu({ effective_order: true });
      hyps.forEach((h, i) => expect(bleu.sentenceScore(h, refs[i]).score).toBeCloseTo(want.sentence_bleu[i], 10));
    });
  }

  it('two references per segment, with nrefs:2 in the signature', () => {
    const m = expected.multi_reference;
    const bleu = new Bleu();
    expect(bleu.corpusScore(m.hyps, m.refs).score).toBeCloseTo(m.corpus_bleu, 10);
    expect(bleu.signature(2)).toBe(m.bleu_signature);
  });
});

describe('BLEU with more distinct tokens than numeric n-gram keys allow', () => {
  it('600 distinct words with 6-grams equal sacreBLEU', () => {
    const hyp = Array.from({ length: 900 }, (_, i) => `w${i % 450}`).join(' ');
    const ref = Array.from({ length: 900 }, (_, i) => (i % 5 ? `w${(i * 7) % 600}` : `w${i % 450}`)).join(' ');
    const score = new Bleu({ max_ngram_order: 6, tokenize: 'none' }).corpusScore([hyp], [[ref]]).score;
    expect(score).toBeCloseTo(expected.large_alphabet.bleu_words_order6, 10);
  });
});
