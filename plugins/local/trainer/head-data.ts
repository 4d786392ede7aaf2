import { FinetuneError } from '../../../src/errors.js';
import { sortedLabels } from '../../../src/evaluation/metrics/classification.js';
import type { HeadBatch } from '../engine/heads/step.js';
import { readJsonl } from './dataset.js';
import type { TokenizerLike } from './render.js';

/**
 * Rows of the head methods as token ids: classification {text, label} → one text and a class id;
 * triplet {anchor, positive, negative} → three texts. Texts are encoded as the tokenizer encodes
 * them alone (its BOS when it adds one, no EOS), as transformers' pipelines and
 * sentence-transformers feed them, and cut at max_seq_length (right truncation).
 */
export interface HeadExample {
  texts: number[][];
  /** Classification: the class id (index in the sorted label list). */
  label?: number;
}

export interface HeadSplit {
  examples: HeadExample[];
  rows: number;
  truncated: number;
  /** Validation rows whose label the training split does not have (skipped). */
  unknown_labels: number;
}

type Where = { file: string; line: number };

function text(row: Record<string, unknown>, field: string, where: Where): string {
  const value = row[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: field "${field}" must be a non-empty string.`, { details: { ...where, field } });
  }
  return value;
}

/** The label of a classification row as a string (numbers and booleans as written). */
function labelOf(row: Record<string, unknown>, where: Where): string {
  const value = row.label;
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: field "label" must be a string or number.`, { details: { ...where, field: 'label' } });
}

/** The sorted label set of a classification split (scikit-learn's order): class id = index. */
export function readLabels(path: string): string[] {
  const labels = readJsonl(path).map(({ row, line }) => labelOf(asRecord(row, { file: path, line }), { file: path, line }));
  return sortedLabels(labels).map(String);
}

function asRecord(row: unknown, where: Where): Record<string, unknown> {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: a row must be a JSON object.`, { details: where });
  return row as Record<string, unknown>;
}

export function readHeadSplit(path: string, task: 'classification' | 'embedding', tokenizer: TokenizerLike, maxSeqLength: number, labels: readonly string[]): HeadSplit {
  const split: HeadSplit = { examples: [], rows: 0, truncated: 0, unknown_labels: 0 };
  const index = new Map(labels.map((l, i) => [l, i]));
  const encode = (value: string): number[] => {
    const ids = tokenizer.encode(value, { add_special_tokens: true });
    if (ids.length > maxSeqLength) split.truncated += 1;
    return ids.slice(0, maxSeqLength);
  };
  for (const { row, line } of readJsonl(path)) {
    split.rows += 1;
    const where = { file: path, line };
    const record = asRecord(row, where);
    if (task === 'classification') {
      const label = index.get(labelOf(record, where));
      if (label === undefined) {
        split.unknown_labels += 1;
        continue;
      }
      split.examples.push({ texts: [encode(text(record, 'text', where))], label });
    } else {
      split.examples.push({ texts: ['anchor', 'positive', 'negative'].map((f) => encode(text(record, f, where))) });
    }
  }
  return split;
}

/**
 * Examples → one head batch of `batchSize` examples: classification rows with a label each (−1 for
 * padding rows); embedding rows group-major (all anchors, then positives, then negatives).
 */
export function headBatch(examples: readonly HeadExample[], batchSize: number, seqLen: number, padId: number): HeadBatch {
  const group = examples[0]?.texts.length ?? 1;
  const rows = group * batchSize;
  const input_ids = new Int32Array(rows * seqLen).fill(padId);
  const attention_mask = new Float32Array(rows * seqLen);
  examples.forEach((example, b) => {
    example.texts.forEach((ids, k) => {
      const row = k * batchSize + b;
      const n = Math.min(ids.length, seqLen);
      for (let t = 0; t < n; t++) {
        input_ids[row * seqLen + t] = ids[t]!;
        attention_mask[row * seqLen + t] = 1;
      }
    });
  });
  if (examples[0]?.label === undefined) return { input_ids, attention_mask, count: examples.length };
  const labels = new Int32Array(batchSize).fill(-1);
  examples.forEach((e, b) => (labels[b] = e.label!));
  return { input_ids, attention_mask, labels };
}

/** sklearn's class_weight="balanced": n / (classes × count of each class); explicit weights by label name (missing = 1). */
export function classWeights(setting: 'balanced' | Record<string, number> | undefined, labels: readonly string[], examples: readonly HeadExample[]): number[] | undefined {
  if (!setting) return undefined;
  if (setting === 'balanced') {
    const counts = labels.map(() => 0);
    for (const e of examples) counts[e.label!]! += 1;
    return counts.map((c) => (c > 0 ? examples.length / (labels.length * c) : 0));
  }
  const unknown = Object.keys(setting).filter((l) => !labels.includes(l));
  if (unknown.length) {
    throw new FinetuneError('CONFIG_INVALID', `class_weights names label${unknown.length > 1 ? 's' : ''} ${unknown.map((l) => `"${l}"`).join(', ')} that the training split does not have; its labels are ${labels.join(', ')}.`, {
      details: { field: 'class_weights' },
    });
  }
  return labels.map((l) => setting[l] ?? 1);
}
