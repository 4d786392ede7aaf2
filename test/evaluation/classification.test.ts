import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classificationReport, type ZeroDivision } from '../../src/evaluation/metrics/classification.js';
import { expected, fixturePath } from './fixtures.js';

const readLabels = (name: string) => readFileSync(fixturePath(name), 'utf8').split(/\s+/).filter(Boolean).map(Number);

describe('classification against scikit-learn 1.9.1 (expected_values.json)', () => {
  it('TweetEval emotion: accuracy, macro / micro / weighted P R F1, per class, confusion matrix', () => {
    const want = expected.classification.tweeteval;
    const report = classificationReport(readLabels('tweeteval_emotion_test_labels.txt'), readLabels('tweeteval_emotion_predictions.txt'));
    expect(report.labels).toEqual(want.labels);
    expect(report.accuracy).toBeCloseTo(want.accuracy, 12);
    expect(report.confusion_matrix).toEqual(want.confusion_matrix);
    for (const avg of ['macro', 'micro', 'weighted'] as const) {
      for (const m of ['precision', 'recall', 'f1'] as const) expect(report[avg][m]).toBeCloseTo(want[avg][m], 12);
    }
    report.per_class.forEach((c, i) => {
      expect(c.precision).toBeCloseTo(want.per_class.precision[i], 12);
      expect(c.recall).toBeCloseTo(want.per_class.recall[i], 12);
      expect(c.f1).toBeCloseTo(want.per_class.f1[i], 12);
      expect(c.support).toBe(want.per_class.support[i]);
    });
  });

  const zd = expected.classification.zero_division;
  it.each(zd.cases as Array<{ zero_division: ZeroDivision; average: 'macro' | 'micro' | 'weighted'; precision: number | null; recall: number | null; f1: number | null }>)(
    'zero_division %j',
    (c) => {
      const report = classificationReport(zd.y_true, zd.y_pred, { zero_division: c.zero_division });
      for (const m of ['precision', 'recall', 'f1'] as const) {
        const want = c[m];
        if (want === null) expect(report[c.average][m]).toBeNaN();
        else expect(report[c.average][m]).toBeCloseTo(want, 12);
      }
    },
  );
});
