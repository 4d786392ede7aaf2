import { issue, type DatasetIssue } from '../issues.js';
import type { CanonicalRow, SourceFormat } from '../types.js';
import { describe, requiredString, type Normalized, type Obj } from './shared.js';

// ---- plain string-field layouts ----

export function stringFields(value: Obj, line: number, fields: string[], format: SourceFormat): Normalized {
  const issues: DatasetIssue[] = [];
  const row: Record<string, string> = {};
  for (const f of fields) {
    const v = requiredString(value, f, line, issues, format);
    if (v !== undefined) row[f] = v;
  }
  return Object.keys(row).length === fields.length ? { row: row as unknown as CanonicalRow, issues } : { issues };
}

export function normalizeClassification(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const text = requiredString(value, 'text', line, issues, 'classification');
  const label = value.label;
  let labelText: string | undefined;
  if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') labelText = String(label);
  else issues.push(issue(line, 'error', label === undefined ? 'missing_field' : 'field_not_string', 'label', `label is ${label === undefined ? 'missing' : describe(label)}.`, 'Give each example a label (string or number).'));
  if (labelText !== undefined && !labelText.trim()) issues.push(issue(line, 'error', 'empty_field', 'label', 'label is empty.', 'Give the example its label, or drop it.'));
  return text === undefined || labelText === undefined ? { issues } : { row: { text, label: labelText }, issues };
}

/**
 * {sentence1, sentence2, score}: the score is the cosine similarity the pair should have
 * (sentence-transformers' CosineSimilarityLoss), so it must lie in [-1, 1]; STS ratings on a 0–5
 * scale are refused with the division that fixes them rather than clipped.
 */
export function normalizeScoredPair(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const sentence1 = requiredString(value, 'sentence1', line, issues, 'scored_pair');
  const sentence2 = requiredString(value, 'sentence2', line, issues, 'scored_pair');
  const score = scoreOf(value.score, line, issues);
  return sentence1 === undefined || sentence2 === undefined || score === undefined ? { issues } : { row: { sentence1, sentence2, score }, issues };
}

/** A CSV or TSV source gives every cell as text: a cell that is one number reads as that number. */
const NUMBER_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function scoreOf(value: unknown, line: number, issues: DatasetIssue[]): number | undefined {
  const score = typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value;
  if (score === undefined || score === null) {
    issues.push(issue(line, 'error', 'missing_field', 'score', "Field 'score' is missing.", 'Give each pair a similarity score from -1 to 1, e.g. "score": 0.8.'));
    return undefined;
  }
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    issues.push(issue(line, 'error', 'field_not_number', 'score', `Field 'score' is ${typeof score === 'number' ? String(score) : describe(score)}, not a finite number.`, 'Write the score as a JSON number from -1 to 1, e.g. 0.8.'));
    return undefined;
  }
  if (score < -1 || score > 1) {
    const fix = score > 1 && score <= 5 ? 'Scale the scores into [0, 1] (an STS rating from 0 to 5: divide by 5).' : 'Scale the scores into [-1, 1] (the cosine similarity the pair should have).';
    issues.push(issue(line, 'error', 'score_out_of_range', 'score', `score ${score} is outside [-1, 1].`, fix));
    return undefined;
  }
  return score;
}
