import { FinetuneError } from '../../../src/errors.js';
import { sortedLabels } from '../../../src/evaluation/metrics/classification.js';
import type { HeadBatch } from '../engine/heads/step.js';
import { readJsonl } from './dataset.js';
import type { TokenizerLike } from './render.js';

/**
 * Rows of the head methods as token ids: classification {text, label} → one text and a class id;
 * triplet {anchor, positive, negative} → three texts; pair {anchor, positive} → two; scored_pair
 * {sentence1, sentence2, score} → two texts and the score. Texts are encoded as the tokenizer encodes
 * them alone (its BOS when it adds one, no EOS), as transformers' pipelines and
 * sentence-transformers feed them, and cut at max_seq_length (right truncation).
 */
export interface HeadExample {
  texts: number[][];
  /** Classification: the class id (index in the sorted label list). */
  label?: number;
  /** Scored pair: the cosine similarity the two texts should have. */
  score?: number;
}

/** The rows a head job reads: classification, or one of the embedding task types. */
export type HeadRows = 'classification' | 'triplet' | 'pair' | 'scored_pair';

/** The text fields of each embedding row type, in batch order (anchors first). */
const EMBEDDING_FIELDS: Record<Exclude<HeadRows, 'classification'>, readonly string[]> = {
  triplet: ['anchor', 'positive', 'negative'],
  pair: ['anchor', 'positive'],
  scored_pair: ['sentence1', 'sentence2'],
};

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

/** A scored pair's target similarity, in [-1, 1] as prepare_dataset checked it; a hand-written split is checked again here. */
function scoreOf(row: Record<string, unknown>, where: Where): number {
  const value = row.score;
  if (typeof value !== 'number' || !(value >= -1 && value <= 1)) {
    throw new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: field "score" must be a number from -1 to 1; it is ${JSON.stringify(value) ?? 'missing'}.`, { details: { ...where, field: 'score' } });
  }
  return value;
}

function asRecord(row: unknown, where: Where): Record<string, unknown> {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: a row must be a JSON object.`, { details: where });
  return row as Record<string, unknown>;
}

export function readHeadSplit(path: string, rows: HeadRows, tokenizer: TokenizerLike, maxSeqLength: number, labels: readonly string[]): HeadSplit {
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
    if (rows === 'classification') {
      const label = index.get(labelOf(record, where));
      if (label === undefined) {
        split.unknown_labels += 1;
        continue;
      }
      split.examples.push({ texts: [encode(text(record, 'text', where))], label });
    } else {
      const texts = EMBEDDING_FIELDS[rows].map((f) => encode(text(record, f, where)));
      split.examples.push(rows === 'scored_pair' ? { texts, score: scoreOf(record, where) } : { texts });
    }
  }
  return split;
}

/**
 * Examples → one head batch of `batchSize` examples: classification rows with a label each (−1 for
 * padding rows); embedding rows group-major (all anchors, then positives, then negatives), scored
 * pairs with their scores (0 on padding rows, which weigh nothing).
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
  if (examples[0]?.score !== undefined) {
    const scores = new Float32Array(batchSize);
    examples.forEach((e, b) => (scores[b] = e.score!));
    return { input_ids, attention_mask, count: examples.length, scores };
  }
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
