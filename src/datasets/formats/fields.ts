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
