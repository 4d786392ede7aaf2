import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classificationReport } from '../../src/evaluation/metrics/classification.js';

/** The trained classifier's committed predictions (test/fixtures/classifier-vectors/SOURCE.md): macro-F1 equals scikit-learn's. */
const vectors = JSON.parse(readFileSync(new URL('../fixtures/classifier-vectors/story-fluency-test.json', import.meta.url), 'utf8')) as { labels: string[]; predictions: string[] };

describe('macro-F1 of the story-fluency classifier equals scikit-learn f1_score(average="macro")', () => {
  it('on the committed prediction/label vectors', () => {
    const report = classificationReport(vectors.labels, vectors.predictions);
    expect(report.labels).toEqual(['fluent', 'scrambled']);
    expect(report.confusion_matrix).toEqual([
      [48, 0],
      [7, 37],
    ]);
    expect(report.macro.f1).toBeCloseTo(7699 / 8343, 15);
    expect(report.macro.f1).toBeCloseTo(0.9228095409325183, 15);
    expect(report.accuracy).toBe(85 / 92);
  });
});
