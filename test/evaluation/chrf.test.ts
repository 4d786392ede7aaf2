import { describe, expect, it } from 'vitest';
import { Bleu } from '../../src/evaluation/metrics/bleu.js';
import { Chrf } from '../../src/evaluation/metrics/chrf.js';
import { expected, readJson, readPairs } from './fixtures.js';

/** sacreBLEU's own test tolerance (test_chrf.py EPSILON). */
const EPSILON = 1e-4;
const g = readJson('sacrebleu_reference_cases.json').chrf_test_globals;
type Case = [string[], string[], number];
const perSegment = (refs: string[]) => refs.map((r) => [r]);

describe('chrF against sacreBLEU test_chrf.py', () => {
  it.each(g.test_cases as Case[])('eps smoothing, beta 3: %j', (hyps, refs, want) => {
    expect(Math.abs(new Chrf({ beta: 3, eps_smoothing: true }).corpusScore(hyps, perSegment(refs)) - want)).toBeLessThan(EPSILON);
  });
  it.each(g.test_cases_effective_order as Case[])('effective order, beta 3: %j', (hyps, refs, want) => {
    expect(Math.abs(new Chrf({ beta: 3 }).corpusScore(hyps, perSegment(refs)) - want)).toBeLessThan(EPSILON);
  });
  it.each(g.test_cases_keep_whitespace as Case[])('whitespace kept, beta 3: %j', (hyps, refs, want) => {
    expect(Math.abs(new Chrf({ beta: 3, whitespace: true }).corpusScore(hyps, perSegment(refs)) - want)).toBeLessThan(EPSILON);
  });
  it.each(g.test_sentence_level_chrf as Array<[string, string[], number]>)('sentence level: %j', (hyp, refs, want) => {
    expect(Math.abs(new Chrf({ eps_smoothing: true }).sentenceScore(hyp, refs) - want)).toBeLessThan(EPSILON);
  });
});

describe('chrF and chrF++ on real pairs against sacreBLEU 2.6.0 (expected_values.json)', () => {
  for (const set of ['emailsum20', 'wmt17_ende20'] as const) {
    const pairs = readPairs(`${set}.jsonl`);
    const hyps = pairs.map((p) => p.hypothesis);
    const refs = pairs.map((p) => [p.reference]);
    const want = expected[set];
    it(`${set}: corpus and sentence scores, signatures`, () => {
      const chrf = new Chrf();
      const chrfpp = new Chrf({ word_order: 2 });
      expect(chrf.corpusScore(hyps, refs)).toBeCloseTo(want.corpus_chrf, 10);
      expect(chrfpp.corpusScore(hyps, refs)).toBeCloseTo(want.corpus_chrf_pp, 10);
      hyps.forEach((h, i) => {
        expect(chrf.sentenceScore(h, refs[i])).toBeCloseTo(want.sentence_chrf[i], 10);
        expect(chrfpp.sentenceScore(h, refs[i])).toBeCloseTo(want.sentence_chrf_pp[i], 10);
      });
      expect(chrf.signature(1)).toBe(want.chrf_signature);
      expect(chrfpp.signature(1)).toBe(want.chrf_pp_signature);
      expect([chrf.name, chrfpp.name]).toEqual(['chrF2', 'chrF2++']);
    });
  }
  it('two references: the best reference per segment', () => {
    const m = expected.multi_reference;
    expect(new Chrf().corpusScore(m.hyps, m.refs)).toBeCloseTo(m.corpus_chrf, 10);
    expect(new Chrf({ word_order: 2 }).corpusScore(m.hyps, m.refs)).toBeCloseTo(m.corpus_chrf_pp, 10);
  });
});

describe('chrF with more distinct characters than the numeric n-gram keys allow', () => {
  it('equals sacreBLEU on a pair using 600 distinct CJK characters', () => {
    const c = expected.large_alphabet;
    expect(new Chrf().sentenceScore(c.hypothesis, [c.reference])).toBeCloseTo(c.chrf, 10);
    expect(new Chrf({ word_order: 2 }).sentenceScore(c.hypothesis, [c.reference])).toBeCloseTo(c.chrf_pp, 10);
    expect(new Bleu({ tokenize: 'char', effective_order: true }).sentenceScore(c.hypothesis, [c.reference]).score).toBeCloseTo(c.bleu_char, 10);
  });
});
