import { issue, type DatasetIssue } from '../issues.js';
import type { CanonicalRow, SourceFormat } from '../types.js';

/** Helpers every format family shares: the result shape, the per-format fix and string-field readers. */

/** What normalising one source record gives: the canonical row, or undefined when it cannot be represented. */
export interface Normalized {
  row?: CanonicalRow;
  issues: DatasetIssue[];
}

export type Obj = Record<string, unknown>;

export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const FORMAT_FIX: Record<SourceFormat, string> = {
  chat: 'Each line needs {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}.',
  sharegpt: 'Each record needs {"conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}]}.',
  instruction: 'Each record needs {"instruction": "…", "input": "", "output": "…"}.',
  completion: 'Each record needs {"prompt": "…", "completion": "…"}.',
  preference: 'Each record needs {"prompt": "…", "chosen": "…", "rejected": "…"} (strings or message lists).',
  openai_dpo: 'Each record needs {"input": {"messages": […]}, "preferred_output": [{"role": "assistant", …}], "non_preferred_output": […]}.',
  sharegpt_preference: 'Each record needs {"conversations": […], "chosen": {"from": "gpt", "value": "…"}, "rejected": {…}}.',
  kto: 'Each record needs {"prompt": "…", "completion": "…", "label": true|false} or {"messages": […, {"role": "assistant", …}], "label": true|false}.',
  classification: 'Each record needs {"text": "…", "label": "…"}.',
  triplet: 'Each record needs {"anchor": "…", "positive": "…", "negative": "…"}.',
  pair: 'Each record needs {"anchor": "…", "positive": "…"} (a query and its relevant passage).',
  scored_pair: 'Each record needs {"sentence1": "…", "sentence2": "…", "score": 0.8} (score a number from -1 to 1).',
  text: 'Each record needs {"text": "…"}.',
};

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function requiredString(value: Obj, field: string, line: number, issues: DatasetIssue[], format: SourceFormat): string | undefined {
  const v = value[field];
  if (v === undefined || v === null) {
    issues.push(issue(line, 'error', 'missing_field', field, `Field '${field}' is missing.`, FORMAT_FIX[format]));
    return undefined;
  }
  if (typeof v !== 'string') {
    issues.push(issue(line, 'error', 'field_not_string', field, `Field '${field}' is ${describe(v)}, not a string.`, `Make '${field}' a string.`));
    return undefined;
  }
  if (!v.trim()) issues.push(issue(line, 'error', 'empty_field', field, `Field '${field}' is empty.`, `Write the ${field}, or drop the example (clean_dataset drops it).`));
  return v;
}

/** An optional string field: undefined when absent, null when present but not a string. */
export function optionalString(value: Obj, field: string, line: number, issues: DatasetIssue[]): string | undefined | null {
  const v = value[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  issues.push(issue(line, 'error', 'field_not_string', field, `Field '${field}' is ${describe(v)}, not a string.`, `Make '${field}' a string or remove it.`));
  return null;
}
