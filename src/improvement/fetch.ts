/**
 * What is new since a policy's cursor, written as a batch file of judge_outputs rows inside the
 * workspace: lines after the last one consumed (a JSONL file), or spans that started at or after the
 * last span's start time and were not seen at that instant (Phoenix, exported span files). The cursor moves only when the
 * batch's judged rows are pooled (store.pool), so a batch that never got there is read again.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readLines } from '../datasets/line-reader.js';
import { confineQuery } from '../datasets/extract.js';
import { parseFileRow, type JudgeRow } from '../evaluation/judge-outputs-rows.js';
import type { Services } from '../services.js';
import type { PolicyCursor, PolicyRecord } from './store.js';

interface Batch {
  /** One judge_outputs row per line, in this order. */
  lines: string[];
  /** Where each line came from: "outputs.jsonl line 12" or a span id. */
  origins: Array<{ ref: string; span_id: string | null; trace_id: string | null }>;
  /** Lines that are no row to judge, with the reason; the cursor moves past them. */
  skipped: Array<{ ref: string; reason: string }>;
  cursor_after: PolicyCursor;
}

const MAX_LINE_BYTES = 16 << 20;

export async function fetchNew(services: Services, policy: PolicyRecord, signal?: AbortSignal): Promise<Batch> {
  const source = policy.spec.source;
  if ('path' in source) return fromFile(services, policy, source.path, signal);
  return fromSpans(services, policy, source.source, source.query, signal);
}

/** Writes the batch where judge_outputs reads it; the path names the cycle, so its judge run can be found again after a crash. */
export function writeBatch(services: Services, policyId: string, cycleId: string, batch: Batch): string {
  const path = services.workspace.artifactPath('improvement', policyId, 'batches', `${cycleId}.jsonl`);
  mkdirSync(dirname(path), { recursive: true });
  services.workspace.writeFile(path, batch.lines.map((l) => `${l}\n`).join(''));
  return path;
}

async function fromFile(services: Services, policy: PolicyRecord, userPath: string, signal?: AbortSignal): Promise<Batch> {
  const path = services.workspace.resolveUserPath(userPath, 'source.path');
  const consumed = policy.cursor.lines ?? 0;
  const batch: Batch = { lines: [], origins: [], skipped: [], cursor_after: { lines: consumed } };
  // A bad line is skipped with its reason, unless it is the last one and has no newline yet: a writer
  // may be halfway through it, so it waits for the next cycle.
  let bad: { line: number; reason: string } | undefined;
  for await (const raw of readLines(path, { maxLineBytes: MAX_LINE_BYTES, signal })) {
    if (raw.line <= consumed) continue;
    if (batch.lines.length >= policy.spec.max_rows_per_cycle) break;
    if (bad) batch.skipped.push({ ref: `${basename(path)} line ${bad.line}`, reason: bad.reason });
    bad = undefined;
    batch.cursor_after = { lines: raw.line };
    const text = raw.too_long ? '' : raw.bytes.toString('utf8').trim();
    if (raw.too_long) {
      bad = { line: raw.line, reason: `is longer than ${MAX_LINE_BYTES >> 20} MiB` };
      continue;
    }
    if (!text) continue;
    let row: JudgeRow;
    try {
      // The judge's own reading of a row: what passes here, judge_outputs reads.
      row = parseFileRow(path, raw.line, text, 0);
    } catch (error) {
      bad = { line: raw.line, reason: (error as Error).message };
      continue;
    }
    batch.lines.push(text);
    batch.origins.push({ ref: `${basename(path)} line ${raw.line}`, span_id: row.span_id, trace_id: row.trace_id });
  }
  if (bad) {
    if (endsWithNewline(path)) batch.skipped.push({ ref: `${basename(path)} line ${bad.line}`, reason: bad.reason });
    else batch.cursor_after = { lines: bad.line - 1 };
  }
  return batch;
}

function endsWithNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    return size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** LLM spans of a telemetry source (Phoenix over REST, exported span files), by start time. */
async function fromSpans(services: Services, policy: PolicyRecord, name: string, query: Record<string, unknown>, signal?: AbortSignal): Promise<Batch> {
  const source = await services.plugins.get('data_source', name);
  const { start_time, seen_at_start_time = [] } = policy.cursor;
  const seen = new Set(start_time ? seen_at_start_time : []);
  const spans: Array<{ start: string; row: Record<string, unknown>; span_id: string; trace_id: string | null }> = [];
  const skipped: Batch['skipped'] = [];
  // Phoenix filters by start_time itself; a span file is read whole and filtered here.
  for await (const raw of source.extract({ ...confineQuery(services, query), ...(start_time ? { start_time } : {}) }, (s) => skipped.push(s))) {
    signal?.throwIfAborted();
    const meta = (raw.metadata ?? {}) as { span_id?: unknown; trace_id?: unknown; start_time?: unknown };
    if (typeof meta.span_id !== 'string') continue;
    if (typeof meta.start_time !== 'string') {
      // The cursor is a start time: a span without one could never be told read from unread.
      if (!start_time) skipped.push({ ref: meta.span_id, reason: 'the span has no start time, which the policy reads by' });
      continue;
    }
    // Phoenix's start_time filter is inclusive: spans at the cursor's instant were read unless new.
    if (meta.start_time === start_time && seen.has(meta.span_id)) continue;
    if (start_time && meta.start_time < start_time) continue;
    spans.push({ start: meta.start_time, span_id: meta.span_id, trace_id: typeof meta.trace_id === 'string' ? meta.trace_id : null, row: { messages: raw.messages, ...(typeof raw.context === 'string' ? { context: raw.context } : {}) } });
  }
  spans.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const taken = spans.slice(0, policy.spec.max_rows_per_cycle);
  const batch: Batch = { lines: [], origins: [], skipped, cursor_after: { ...policy.cursor } };
  for (const s of taken) {
    batch.lines.push(JSON.stringify({ ...s.row, span_id: s.span_id, ...(s.trace_id ? { trace_id: s.trace_id } : {}) }));
    batch.origins.push({ ref: s.span_id, span_id: s.span_id, trace_id: s.trace_id });
  }
  const last = taken.at(-1);
  if (last) {
    const atLast = taken.filter((s) => s.start === last.start).map((s) => s.span_id);
    batch.cursor_after = { start_time: last.start, seen_at_start_time: last.start === start_time ? [...seen, ...atLast] : atLast };
  }
  return batch;
}
