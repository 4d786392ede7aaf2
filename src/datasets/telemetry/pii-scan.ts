import { redact, type PiiPattern } from '../pii.js';

/** Keys whose strings are structure, not text a person wrote: never scanned. */
const STRUCTURAL = new Set(['role', 'type', 'id', 'tool_call_id', 'name']);

export interface PiiTally {
  by_kind: Record<string, number>;
  rows_affected: number;
  findings: number;
}

/**
 * Scans every text of a row (message contents, tool-call arguments, triplet texts) for PII and,
 * when `apply`, returns the row with each value replaced by its placeholder ([EMAIL], [PHONE]…).
 * Counts go into `tally`; the values found are never recorded.
 */
export function scanRow<T>(row: T, patterns: PiiPattern[], apply: boolean, tally: PiiTally): T {
  let touched = false;
  const walk = (value: unknown, key: string | undefined): unknown => {
    if (typeof value === 'string') {
      if (key !== undefined && STRUCTURAL.has(key)) return value;
      const result = redact(value, patterns);
      for (const f of result.findings) tally.by_kind[f.kind] = (tally.by_kind[f.kind] ?? 0) + 1;
      tally.findings += result.findings.length;
      if (result.findings.length) touched = true;
      return apply ? result.text : value;
    }
    if (Array.isArray(value)) return value.map((v) => walk(v, undefined));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    return value;
  };
  const out = walk(row, undefined) as T;
  if (touched) tally.rows_affected++;
  return apply ? out : row;
}
