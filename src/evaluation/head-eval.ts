import { FinetuneError } from '../errors.js';
import type { EvalCase } from './cases.js';
import { bootstrapInterval } from './metrics/bootstrap.js';
import { classificationReport, REPORT_METRICS, reportMetrics } from './metrics/classification.js';
import { RETRIEVAL_METRICS, retrievalRanks, retrievalScores } from './metrics/retrieval.js';
import type { ModelRunner } from './runners/model-runner.js';

/**
 * Evaluation of models with a head: a classifier predicts each row's label with its head (not by
 * generating text), an embedding model ranks a corpus for each triplet's anchor. Returns what
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

/** Retrieval over the split's own corpus (every distinct positive and negative), queries the anchors. */
export async function retrievalMetrics(runner: ModelRunner, cases: EvalCase[], metrics: string[] | undefined, bootstrap: { samples: number; seed: number }, signal?: AbortSignal): Promise<HeadMetrics> {
  const asked = wanted(metrics, RETRIEVAL_METRICS, RETRIEVAL_METRICS, 'triplet rows (retrieval)');
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
