import { describe, expect, it } from 'vitest';
import { pearson, spearman } from '../../src/evaluation/metrics/similarity.js';

/**
 * The correlations of evaluate_model on scored pairs against scipy 1.17.1:
 * scipy.stats.spearmanr(x, y).statistic and pearsonr(x, y).statistic on the vectors below (x has a
 * tie, y two, so the average ranks matter).
 */
const X = [0.91, 0.12, 0.55, 0.55, -0.3, 0.78, 0.02, 0.4];
const Y = [1.0, 0.2, 0.6, 0.4, 0.0, 0.8, 0.2, 0.5];

describe('similarity correlations (EmbeddingSimilarityEvaluator)', () => {
  it('equal scipy.stats spearmanr and pearsonr, ties ranked by their average', () => {
    expect(spearman(X, Y)).toBeCloseTo(0.9518072289156626, 12);
    expect(pearson(X, Y)).toBeCloseTo(0.9586440440410601, 12);
  });

  it('are 1 and −1 for monotone orders whatever the spacing, NaN for a constant column (as scipy)', () => {
    expect(spearman([1, 2, 3, 4], [0.1, 5, 7, 100])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNaN();
  });
});
