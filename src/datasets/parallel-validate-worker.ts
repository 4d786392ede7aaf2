/**
 * Worker of parallel-validate.ts: validates one byte range of a JSON Lines file with every row check
 * except duplicates, whose hashes it sends to the main thread (which checks them in line order).
 * Line numbers it sends are relative to the range's first line.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { issue, type DatasetIssue } from './issues.js';
import { readLineBatches } from './line-reader.js';
import { jsonLineRecord, type SourceRecord } from './sources.js';
import { validateRecords, type DuplicateCheck, type ValidatedRow } from './validate.js';
import type { RangeDone, RangeInput, RangeRows } from './parallel-validate.js';

const input = workerData as RangeInput;
const ROWS_A_MESSAGE = 4096;

/** Stands in the row's issue list where the duplicate issue (if any) goes. */
const DUPLICATE_SLOT = issue(0, 'warning', 'duplicate_slot', '', '', '');
/** The current row's exact and near hashes, two words each. */
const rowHashes = new Uint32Array(4);
const recordHashes: DuplicateCheck = {
  check(_line, exact, near) {
    rowHashes[0] = exact.hi;
    rowHashes[1] = exact.lo;
    rowHashes[2] = near.hi;
    rowHashes[3] = near.lo;
    return DUPLICATE_SLOT;
  },
};

let lastLine = 0;
let bytes = 0;
async function* records(): AsyncGenerator<SourceRecord[]> {
  const options = { maxLineBytes: input.maxLineBytes, start: input.start, end: input.end, onProgress: (n: number) => (bytes = n) };
  for await (const lines of readLineBatches(input.path, options)) {
    const batch: SourceRecord[] = [];
    for (const raw of lines) {
      lastLine = raw.line;
      const record = jsonLineRecord(input.path, raw, input.maxLineBytes, input.maxJsonValues);
      if (record) batch.push(record);
    }
    yield batch;
  }
}

const done: Omit<RangeDone, 'type' | 'last_line' | 'format'> = { records: 0, valid_rows: 0, rows_with_errors: 0, errors: 0, warnings: 0, by_code: {}, labels: [] };
const labels = new Map<string, number>();
let listed = 0;
/** Rows of the next message, written in place (the typed arrays are transferred, then replaced). */
let pending = newMessage();

function newMessage(): RangeRows {
  return { type: 'rows', bytes: 0, count: 0, lines: new Uint32Array(ROWS_A_MESSAGE), slots: new Int32Array(ROWS_A_MESSAGE), hashes: new Uint32Array(4 * ROWS_A_MESSAGE), issues: [] };
}

function onRow(v: ValidatedRow): void {
  done.records++;
  let slot = -1;
  const own: DatasetIssue[] = [];
  let firstOfCode = false;
  let hasError = false;
  for (let i = 0; i < v.issues.length; i++) {
    const found = v.issues[i];
    if (found === DUPLICATE_SLOT) {
      slot = i;
      continue;
    }
    own.push(found);
    if (done.by_code[found.code] === undefined) firstOfCode = true;
    done.by_code[found.code] = (done.by_code[found.code] ?? 0) + 1;
    if (found.severity === 'error') {
      done.errors++;
      hasError = true;
    } else done.warnings++;
  }
  if (hasError) done.rows_with_errors++;
  if (v.row && !hasError) done.valid_rows++;
  const label = v.row && (v.row as { label?: unknown }).label;
  if (typeof label === 'string') labels.set(label, (labels.get(label) ?? 0) + 1);
  // Issues past the list cap need not travel, except a code's first (the summary keeps codes in first-seen order).
  const send = own.length > 0 && (listed < input.maxIssues || firstOfCode);
  listed += own.length;
  if (slot < 0 && !send) return;
  const index = pending.count++;
  pending.lines[index] = v.line;
  pending.slots[index] = slot;
  if (slot >= 0) pending.hashes.set(rowHashes, 4 * index);
  if (send) pending.issues.push([index, own]);
  if (pending.count === ROWS_A_MESSAGE) flush();
}

function flush(): void {
  const message = pending;
  message.bytes = bytes;
  parentPort!.postMessage(message, [message.lines.buffer as ArrayBuffer, message.slots.buffer as ArrayBuffer, message.hashes.buffer as ArrayBuffer]);
  pending = newMessage();
}

const result = await validateRecords(records(), { format: input.format, labels: input.labels, maxIssues: 0, thresholds: input.thresholds, duplicates: recordHashes }, onRow);
flush();
done.labels = [...labels];
const message: RangeDone = { type: 'done', ...done, last_line: lastLine, format: result.summary.format };
parentPort!.postMessage(message);
