/**
 * Classification metrics with scikit-learn's definitions: accuracy, per-class precision / recall /
 * F1 (F from tp, fp, fn, as sklearn ≥ 1.3), macro / micro / weighted averages, the confusion
 * matrix, and `zero_division` (0, 1 or NaN; a NaN class is left out of the average, as sklearn's
 * `_nanaverage` does). Labels are the sorted union of gold and predicted labels.
 */

type Label = string | number;
export type ZeroDivision = 0 | 1 | 'nan';
interface PrfScores {
  precision: number;
  recall: number;
  f1: number;
}

interface ClassificationReport {
  labels: Label[];
  accuracy: number;
  macro: PrfScores;
  micro: PrfScores;
  weighted: PrfScores;
  per_class: Array<PrfScores & { label: Label; support: number }>;
  /** confusion_matrix[i][j]: examples of gold label i predicted as label j (labels in `labels` order). */
  confusion_matrix: number[][];
}

/** sklearn's `unique_labels` order: numbers numerically, otherwise strings by code point. */
export function sortedLabels(values: Iterable<Label>): Label[] {
  const unique = [...new Set(values)];
  if (unique.every((v) => typeof v === 'number')) return (unique as number[]).sort((a, b) => a - b);
  return unique.map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function accuracy(gold: readonly Label[], predicted: readonly Label[]): number {
  if (gold.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < gold.length; i++) if (gold[i] === predicted[i]) correct++;
  return correct / gold.length;
}

function confusionMatrix(gold: readonly Label[], predicted: readonly Label[], labels: readonly Label[]): number[][] {
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < gold.length; i++) {
    const g = index.get(gold[i]);
    const p = index.get(predicted[i]);
    if (g !== undefined && p !== undefined) matrix[g][p]++;
  }
  return matrix;
}

function divide(numerator: number, denominator: number, zeroDivision: ZeroDivision): number {
  if (denominator === 0) return zeroDivision === 'nan' ? Number.NaN : zeroDivision;
  return numerator / denominator;
}

/** sklearn's `_nanaverage`: NaNs dropped, weights optional, all-zero weights fall back to the plain mean. */
function nanAverage(values: readonly number[], weights?: readonly number[]): number {
  const keep = values.map((v, i) => [v, weights?.[i] ?? 1] as const).filter(([v]) => !Number.isNaN(v));
  if (keep.length === 0) return Number.NaN;
  const weightSum = keep.reduce((s, [, w]) => s + w, 0);
  if (weights === undefined || weightSum === 0) return keep.reduce((s, [v]) => s + v, 0) / keep.length;
  return keep.reduce((s, [v, w]) => s + v * w, 0) / weightSum;
}

function prf(tp: number, predicted: number, actual: number, zeroDivision: ZeroDivision): PrfScores {
  return {
    precision: divide(tp, predicted, zeroDivision),
    recall: divide(tp, actual, zeroDivision),
    // (1+β²)·tp / (β²·(tp+fn) + (tp+fp)) with β = 1
    f1: divide(2 * tp, actual + predicted, zeroDivision),
  };
}

export function classificationReport(
  gold: readonly Label[],
  predicted: readonly Label[],
  options: { zero_division?: ZeroDivision; labels?: readonly Label[] } = {},
): ClassificationReport {
  if (gold.length !== predicted.length) throw new Error(`gold has ${gold.length} labels but predicted has ${predicted.length}`);
  const zeroDivision = options.zero_division ?? 0;
  const labels = options.labels ? [...options.labels] : sortedLabels([...gold, ...predicted]);
  const matrix = confusionMatrix(gold, predicted, labels);
  const tp = labels.map((_, i) => matrix[i][i]);
  const actual = labels.map((_, i) => matrix[i].reduce((s, v) => s + v, 0));
  const predictedCounts = labels.map((_, j) => matrix.reduce((s, row) => s + row[j], 0));
  const perClass = labels.map((label, i) => ({ label, support: actual[i], ...prf(tp[i], predictedCounts[i], actual[i], zeroDivision) }));
  const average = (weights?: number[]): PrfScores => ({
    precision: nanAverage(perClass.map((c) => c.precision), weights),
    recall: nanAverage(perClass.map((c) => c.recall), weights),
    f1: nanAverage(perClass.map((c) => c.f1), weights),
  });
  const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);
  return {
    labels,
    accuracy: accuracy(gold, predicted),
    macro: average(),
    micro: prf(sum(tp), sum(predictedCounts), sum(actual), zeroDivision),
    weighted: average(actual),
    per_class: perClass,
    confusion_matrix: matrix,
  };
}

/** evaluate_model's label metrics, the figures reportMetrics gives. */
export const REPORT_METRICS = ['accuracy', 'macro_f1', 'micro_f1', 'weighted_f1', 'macro_precision', 'macro_recall'] as const;

/** The report's figures under evaluate_model's metric names. */
export function reportMetrics(report: ClassificationReport): Record<(typeof REPORT_METRICS)[number], number> {
  return {
    accuracy: report.accuracy,
    macro_f1: report.macro.f1,
    micro_f1: report.micro.f1,
    weighted_f1: report.weighted.f1,
    macro_precision: report.macro.precision,
    macro_recall: report.macro.recall,
  };
}
