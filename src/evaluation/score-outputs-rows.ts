/**
 * The rows score_outputs reads: one JSON object a line, either a text row
 * `{prediction | hypothesis, reference | references}` or a classification row `{prediction, label}`.
 * Every refusal names the file, the 1-based line and the field.
 */
import { FinetuneError } from '../errors.js';

export type Row =
  | { kind: 'text'; line: number; prediction: string; references: string[] }
  | { kind: 'classification'; line: number; prediction: string | number; label: string | number };

export function parseRow(path: string, line: number, text: string): Row {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw rowError(path, line, undefined, `is not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw rowError(path, line, undefined, 'is not a JSON object');
  const row = value as Record<string, unknown>;
  if ('prediction' in row && 'hypothesis' in row) throw rowError(path, line, 'hypothesis', 'has both prediction and hypothesis; keep one');
  const predictionField = 'prediction' in row ? 'prediction' : 'hypothesis';
  const prediction = row[predictionField];
  if ('label' in row) {
    const label = row.label;
    if (!isLabel(label)) throw rowError(path, line, 'label', 'has a label that is not a string or number');
    if (!isLabel(prediction)) throw rowError(path, line, predictionField, 'has no prediction (a string or number) beside its label');
    return { kind: 'classification', line, prediction, label };
  }
  if (typeof prediction !== 'string') throw rowError(path, line, predictionField, `has no text ${predictionField} (a string)`);
  if ('references' in row && 'reference' in row) throw rowError(path, line, 'reference', 'has both reference and references; keep one');
  const references: unknown = 'references' in row ? row.references : row.reference === undefined ? undefined : [row.reference];
  if (!Array.isArray(references) || references.length === 0) {
    throw rowError(path, line, 'reference', 'has no reference (a string) or references (a non-empty list of strings), nor a label');
  }
  const badIndex = references.findIndex((r) => typeof r !== 'string');
  if (badIndex !== -1) throw rowError(path, line, 'reference' in row ? 'reference' : `references[${badIndex}]`, 'has a reference that is not a string');
  return { kind: 'text', line, prediction, references: references as string[] };
}

function isLabel(v: unknown): v is string | number {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

export function rowError(file: string, line: number, field: string | undefined, what: string): FinetuneError {
  return new FinetuneError('DATASET_INVALID', `Line ${line} of ${file} ${what}.`, {
    recovery:
      'Each line must be one JSON object: {"prediction": "...", "reference": "..."} (or "hypothesis", or "references": ["...", "..."]) ' +
      'for text, or {"prediction": "...", "label": "..."} for classification. Fix that line and call score_outputs again.',
    details: { file, line, ...(field ? { field } : {}) },
  });
}
