import { describe, expect, it } from 'vitest';
import { exactMatch, maxOverReferences, normalizeAnswer, tokenF1 } from '../../src/evaluation/metrics/squad.js';
import { expected, readPairs } from './fixtures.js';

describe('SQuAD EM / F1 against the official v1.1 script (expected_values.json)', () => {
  const squad = expected.squad;
  it.each(squad.rows as Array<{ prediction: string; references: string[]; exact_match: number; f1: number; normalized_prediction: string }>)('%j', (row) => {
    expect(normalizeAnswer(row.prediction)).toBe(row.normalized_prediction);
    expect(maxOverReferences(exactMatch, row.prediction, row.references)).toBe(row.exact_match);
    expect(maxOverReferences(tokenF1, row.prediction, row.references)).toBeCloseTo(row.f1, 12);
  });
  it('corpus EM and F1 on the 0–100 scale', () => {
    const rows = squad.rows as Array<{ prediction: string; references: string[] }>;
    const em = (100 * rows.reduce((s, r) => s + maxOverReferences(exactMatch, r.prediction, r.references), 0)) / rows.length;
    const f1 = (100 * rows.reduce((s, r) => s + maxOverReferences(tokenF1, r.prediction, r.references), 0)) / rows.length;
    expect(em).toBeCloseTo(squad.exact_match, 10);
    expect(f1).toBeCloseTo(squad.f1, 10);
  });
  for (const set of ['emailsum20', 'wmt17_ende20'] as const) {
    it(`${set}: EM and F1 on longer texts`, () => {
      const pairs = readPairs(`${set}.jsonl`);
      const f1 = (100 * pairs.reduce((s, p) => s + tokenF1(p.hypothesis, p.reference), 0)) / pairs.length;
      const em = (100 * pairs.reduce((s, p) => s + exactMatch(p.hypothesis, p.reference), 0)) / pairs.length;
      expect(f1).toBeCloseTo(expected[set].squad_f1, 10);
      expect(em).toBeCloseTo(expected[set].squad_exact_match, 10);
    });
  }
});
