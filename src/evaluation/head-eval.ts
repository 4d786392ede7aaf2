import { FinetuneError } from '../errors.js';
import type { EvalCase } from './cases.js';
import { bootstrapInterval } from './metrics/bootstrap.js';
import { classificationReport, REPORT_METRICS, reportMetrics } from './metrics/classification.js';
import { RETRIEVAL_METRICS, retrievalRanks, retrievalScores } from './metrics/retrieval.js';
import { pearson, SIMILARITY_METRICS, spearman } from './metrics/similarity.js';
import type { ModelRunner } from './runners/model-runner.js';

/**
 * Evaluation of models with a head: a classifier predicts each row's label with its head (not by
 * generating text), an embedding model ranks a corpus for each triplet's or pair's anchor, and its
 * cosine similarities of scored pairs are correlated with the gold scores. Returns what
 * evaluate_model reports for them; the rest of the evaluation (gates, storage) is shared.
 */
interface HeadMetrics {
  values: Record<string, number>;
  ci: Record<string, { low: number; high: number }>;
  predictions: string[];
  per_example: Array<Record<string, number>>;
  confusion_matrix?: { labels: string[]; matrix: number[][] };
}


function wanted(metrics: string[] | undefined, known: readonly string[], defaults: readonly string[], what: string): string[] {
  const list = metrics ?? [...defaults];
  const unknown = list.filter((m) => !known.includes(m));
  if (unknown.length) throw new FinetuneError('INVALID_INPUT', `Metric '${unknown[0]}' does not apply to ${what}; use ${known.join(', ')}.`, { details: { field: 'metrics' } });
  return list;
}

/** Labels from the classification head: accuracy, F1s and the confusion matrix (scikit-learn's definitions). */
export async function classifierMetrics(runner: ModelRunner, cases: EvalCase[], metrics: string[] | undefined, bootstrap: { samples: number; seed: number }, signal?: AbortSignal): Promise<HeadMetrics> {
  const asked = wanted(metrics, REPORT_METRICS, ['accuracy', 'macro_f1'], 'a classifier (it predicts labels with its head)');
  const predictions = (await runner.classify(cases.map((c) => c.prompt), signal)).map((p) => p.label);
  const references = cases.map((c) => c.reference);
  const report = classificationReport(references, predictions);
  const table = reportMetrics(report);
  const values = Object.fromEntries(asked.map((m) => [m, table[m as keyof typeof table]]));
  const ci: HeadMetrics['ci'] = {};
  const hits = predictions.map((p, i) => (p === references[i] ? 1 : 0));
  if (bootstrap.samples > 0 && asked.includes('accuracy')) {
    const interval = bootstrapInterval(hits.map((h) => [h, 1]), (s) => s[0]! / s[1]!, bootstrap);
    ci.accuracy = { low: interval.low, high: interval.high };
  }
  return {
    values,
    ci,
    predictions,
    per_example: hits.map((h) => ({ accuracy: h })),
    confusion_matrix: { labels: report.labels.map(String), matrix: report.confusion_matrix },
  };
}

/** Retrieval over the split's own corpus (every distinct positive and negative; a pair split's positives), queries the anchors. */
export async function retrievalMetrics(runner: ModelRunner, cases: EvalCase[], metrics: string[] | undefined, bootstrap: { samples: number; seed: number }, signal?: AbortSignal): Promise<HeadMetrics> {
  const asked = wanted(metrics, RETRIEVAL_METRICS, RETRIEVAL_METRICS, 'triplet and pair rows (retrieval)');
  const corpus = [...new Set(cases.flatMap((c) => [c.reference, c.negative ?? '']).filter(Boolean))];
  const index = new Map(corpus.map((d, i) => [d, i]));
  const queries = await runner.embed(cases.map((c) => c.prompt), signal);
  const documents = await runner.embed(corpus, signal);
  const ranks = retrievalRanks(queries, documents, cases.map((c) => index.get(c.reference)!));
  const perQuery = ranks.map(retrievalScores);
  const values: Record<string, number> = {};
  const ci: HeadMetrics['ci'] = {};
  for (const m of asked as Array<(typeof RETRIEVAL_METRICS)[number]>) {
    const stats = perQuery.map((q) => [q[m], 1]);
    values[m] = stats.reduce((a, s) => a + s[0]!, 0) / stats.length;
    if (bootstrap.samples > 0) {
      const interval = bootstrapInterval(stats, (s) => s[0]! / s[1]!, bootstrap);
      ci[m] = { low: interval.low, high: interval.high };
    }
  }
  return {
    values,
    ci,
    predictions: ranks.map((r) => `rank ${r} of ${corpus.length}`),
    per_example: perQuery.map((q) => Object.fromEntries(asked.map((m) => [m, q[m as keyof typeof q]]))),
  };
}

/**
 * sentence-transformers' EmbeddingSimilarityEvaluator: the Spearman and Pearson correlations of the
 * cosine similarity of each pair with its gold score. A correlation is a statistic of the whole set,
 * not a sum over pairs, so it gets no bootstrap interval here; each pair reports its cosine.
 */
export async function similarityMetrics(runner: ModelRunner, cases: EvalCase[], metrics: string[] | undefined, _bootstrap: unknown, signal?: AbortSignal): Promise<HeadMetrics> {
  const asked = wanted(metrics, SIMILARITY_METRICS, SIMILARITY_METRICS, 'scored pairs (similarity correlation)');
  if (cases.length < 2) throw new FinetuneError('DATASET_INVALID', `A correlation needs at least 2 scored pairs; the rows hold ${cases.length}.`, { details: { field: 'dataset_id' } });
  const first = await runner.embed(cases.map((c) => c.prompt), signal);
  const second = await runner.embed(cases.map((c) => c.reference), signal);
  // embeddings come L2-normalised: the cosine is the dot product
  const cosines = first.map((a, i) => a.reduce((sum, x, k) => sum + x * second[i]![k]!, 0));
  const gold = cases.map((c) => c.score!);
  if (gold.every((g) => g === gold[0])) {
    throw new FinetuneError('DATASET_INVALID', `Every scored pair has score ${gold[0]}: nothing to correlate the similarities with.`, { recovery: 'Evaluate on pairs with a range of scores (similar and dissimilar pairs).', details: { field: 'dataset_id' } });
  }
  const statistic = { spearman_cosine: spearman, pearson_cosine: pearson };
  const values = Object.fromEntries(asked.map((m) => [m, statistic[m as keyof typeof statistic](cosines, gold)]));
  return { values, ci: {}, predictions: cosines.map((c) => `cosine ${c.toFixed(4)}`), per_example: cosines.map((cosine) => ({ cosine })) };
}
