import { describe, expect, it } from 'vitest';
import { rankOf, retrievalRanks, retrievalScores } from '../../src/evaluation/metrics/retrieval.js';

/** Retrieval metrics with one relevant document, worked by hand (sentence-transformers' InformationRetrievalEvaluator definitions). */
describe('retrieval metrics', () => {
  it('rank counts the documents scored strictly higher, plus one', () => {
    expect(rankOf([0.1, 0.9, 0.5], 1)).toBe(1);
    expect(rankOf([0.1, 0.9, 0.5], 2)).toBe(2);
    expect(rankOf([0.1, 0.9, 0.5], 0)).toBe(3);
  });

  it('recall@k, MRR@10 and nDCG@10 from the rank', () => {
    expect(retrievalScores(1)).toEqual({ recall_at_1: 1, recall_at_5: 1, recall_at_10: 1, mrr_at_10: 1, ndcg_at_10: 1 });
    const third = retrievalScores(3);
    expect(third).toMatchObject({ recall_at_1: 0, recall_at_5: 1, recall_at_10: 1, mrr_at_10: 1 / 3 });
    expect(third.ndcg_at_10).toBeCloseTo(0.5, 15); // 1 / log2(4)
    expect(retrievalScores(11)).toEqual({ recall_at_1: 0, recall_at_5: 0, recall_at_10: 0, mrr_at_10: 0, ndcg_at_10: 0 });
  });

  it('ranks each query’s positive by cosine similarity of normalised embeddings', () => {
    const v = (...x: number[]) => Float32Array.from(x);
    const queries = [v(1, 0), v(0, 1)];
    const corpus = [v(0.6, 0.8), v(1, 0), v(0, 1)];
    // query 0: scores 0.6, 1, 0 → its positive (doc 0) is second; query 1: 0.8, 0, 1 → doc 2 first
    expect(retrievalRanks(queries, corpus, [0, 2])).toEqual([2, 1]);
  });
});
