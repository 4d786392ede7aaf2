import { describe, expect, it } from 'vitest';
import { porterStem } from '../../src/evaluation/metrics/porter.js';
import { RougeScorer, type RougeType } from '../../src/evaluation/metrics/rouge.js';
import { expected, readJson, readPairs } from './fixtures.js';

const cases = readJson('rouge_reference_cases.json');

describe('ROUGE against rouge-score test vectors (ROUGE-1.5.5 values)', () => {
  it.each(cases.rouge155_cases as Array<{ rouge_type: RougeType; use_stemmer: boolean; target_line: number; expected_recall: number; expected_precision: number; expected_fmeasure: number; tolerance: number }>)(
    '%j',
    (c) => {
      const s = new RougeScorer({ types: [c.rouge_type], use_stemmer: c.use_stemmer }).score(cases.targets[c.target_line], cases.predictions[c.target_line])[c.rouge_type];
      expect(Math.abs(s.recall - c.expected_recall)).toBeLessThanOrEqual(c.tolerance);
      expect(Math.abs(s.precision - c.expected_precision)).toBeLessThanOrEqual(c.tolerance);
      expect(Math.abs(s.fmeasure - c.expected_fmeasure)).toBeLessThanOrEqual(c.tolerance);
    },
  );
  it.each(cases.simple_cases as Array<{ target: string; prediction: string; rouge_type: RougeType; precision: number; recall: number; fmeasure: number }>)('%j', (c) => {
    const s = new RougeScorer({ types: [c.rouge_type] }).score(c.target, c.prediction)[c.rouge_type];
    expect(s.precision).toBeCloseTo(c.precision, 12);
    expect(s.recall).toBeCloseTo(c.recall, 12);
    expect(s.fmeasure).toBeCloseTo(c.fmeasure, 12);
  });
});

describe('Porter stemmer against nltk PorterStemmer (NLTK_EXTENSIONS)', () => {
  const stems = expected.porter_stems as Record<string, string>;
  it(`stems all ${Object.keys(stems).length} words as nltk does`, () => {
    const wrong = Object.entries(stems).filter(([word, stem]) => porterStem(word) !== stem);
    expect(wrong.map(([word, stem]) => `${word}: want ${stem}, got ${porterStem(word)}`)).toEqual([]);
  });
});

describe('ROUGE on real pairs against rouge-score (expected_values.json)', () => {
  for (const set of ['emailsum20', 'wmt17_ende20'] as const) {
    const pairs = readPairs(`${set}.jsonl`);
    for (const stem of [false, true]) {
      it(`${set}, use_stemmer=${stem}: per-pair P/R/F and mean F`, () => {
        const want = expected[set][stem ? 'rouge_stemmed' : 'rouge'];
        const scorer = new RougeScorer({ use_stemmer: stem });
        const per = pairs.map((p) => scorer.score(p.reference, p.hypothesis));
        for (const type of ['rouge1', 'rouge2', 'rougeL'] as const) {
          per.forEach((s, i) => {
            expect(s[type].fmeasure).toBeCloseTo(want[type].fmeasure[i], 12);
            expect(s[type].precision).toBeCloseTo(want[type].precision[i], 12);
            expect(s[type].recall).toBeCloseTo(want[type].recall[i], 12);
          });
          const meanF = per.reduce((a, s) => a + s[type].fmeasure, 0) / per.length;
          expect(meanF).toBeCloseTo(want[type].mean_fmeasure, 12);
        }
      });
    }
  }
  it('several references: the best by F-measure (score_multi)', () => {
    const m = expected.multi_reference;
    const scorer = new RougeScorer();
    m.hyps.forEach((h: string, i: number) => {
      const s = scorer.scoreMulti(m.refs[i], h);
      for (const type of ['rouge1', 'rouge2', 'rougeL']) expect(s[type].fmeasure).toBeCloseTo(m.rouge_fmeasure[type][i], 12);
    });
  });
});

describe('ROUGE-Lsum against rouge-score (newline-separated sentences)', () => {
  for (const set of ['emailsum20.jsonl', 'wmt17_ende20.jsonl']) {
    it(`${set}: per pair P/R/F, plain and stemmed`, () => {
      const rows = expected.rouge_lsum[set] as Array<{ hypothesis: string; reference: string; use_stemmer: boolean; precision: number; recall: number; fmeasure: number }>;
      for (const r of rows) {
        const s = new RougeScorer({ types: ['rougeLsum'], use_stemmer: r.use_stemmer }).score(r.reference, r.hypothesis).rougeLsum;
        expect(s.precision).toBeCloseTo(r.precision, 12);
        expect(s.recall).toBeCloseTo(r.recall, 12);
        expect(s.fmeasure).toBeCloseTo(r.fmeasure, 12);
      }
    });
  }
});
