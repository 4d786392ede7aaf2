/**
 * Retrieval metrics with one relevant document per query (a triplet's positive), over a corpus of
 * every distinct positive and negative: recall@k (the positive is in the top k), MRR@10 (1/rank, 0
 * past 10) and nDCG@10 (1/log2(rank + 1): one relevant document makes the ideal DCG 1), averaged
 * over queries as sentence-transformers' InformationRetrievalEvaluator does. The rank counts the
 * documents scored strictly higher than the positive, plus one.
 */
export const RETRIEVAL_METRICS = ['recall_at_1', 'recall_at_5', 'recall_at_10', 'mrr_at_10', 'ndcg_at_10'] as const;

/** 1-based rank of document `relevant` among `scores`. */
export function rankOf(scores: ArrayLike<number>, relevant: number): number {
  let rank = 1;
  for (let j = 0; j < scores.length; j++) if (j !== relevant && scores[j]! > scores[relevant]!) rank += 1;
  return rank;
}

/** Per-query values of each metric from the rank of its relevant document. */
export function retrievalScores(rank: number): Record<(typeof RETRIEVAL_METRICS)[number], number> {
  return {
    recall_at_1: rank <= 1 ? 1 : 0,
    recall_at_5: rank <= 5 ? 1 : 0,
    recall_at_10: rank <= 10 ? 1 : 0,
    mrr_at_10: rank <= 10 ? 1 / rank : 0,
    ndcg_at_10: rank <= 10 ? 1 / Math.log2(rank + 1) : 0,
  };
}

/** Ranks of each query's positive among the corpus by cosine similarity (embeddings already L2-normalised). */
export function retrievalRanks(queries: readonly Float32Array[], corpus: readonly Float32Array[], relevant: readonly number[]): number[] {
  return queries.map((q, i) => {
    const scores = corpus.map((d) => {
      let dot = 0;
      for (let k = 0; k < d.length; k++) dot += q[k]! * d[k]!;
      return dot;
    });
    return rankOf(scores, relevant[i]!);
  });
}
