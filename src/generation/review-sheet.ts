import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { AtomicSink, csvField } from '../datasets/export.js';
import { FinetuneError } from '../errors.js';
import { jsonErrorWhere, openForRead, readUserFile } from '../workspace/confine.js';
import type { Workspace } from '../workspace/workspace.js';
import { ReviewQueueStore, type DecisionOutcome } from './queue-store.js';
import { checkRows, describeErrors } from './row-check.js';
import { flagsCell, provenanceCells, PROVENANCE_COLUMNS, SHEET_LAYOUTS } from './sheet-layout.js';
import type { ReviewRow, ReviewStatus } from './types.js';

type SheetFormat = 'csv' | 'jsonl';

/** A review file is read whole: a queue of a few thousand rows is a few MB. */
const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** Spreadsheets run a cell that starts like a formula; such text is written behind a quote, which import takes off again. */
const FORMULA_START = /^'*[=+\-@\t\r]/;

interface ExportReviewResult {
  path: string;
  format: SheetFormat;
  rows: number;
  columns: string[];
  bytes: number;
  sha256: string;
}

/**
 * Writes the queue's rows (pending by default) for review outside the server. CSV: one row a line
 * with `id`, a blank `decision` for approve/reject, `status`, `flags`, the row's text columns
 * (sheet-layout.ts), `row_json` for rows those columns cannot hold, and provenance columns. JSONL:
 * `{id, decision: null, status, flags, row, provenance}`. The file appears whole or not at all.
 */
export async function exportReview(workspace: Workspace, options: { queue_id: string; path: string; format: SheetFormat; status: ReviewStatus | 'all' }): Promise<ExportReviewResult> {
  const store = new ReviewQueueStore(workspace);
  const queue = store.get(options.queue_id);
  const rows = store.rows(queue.id, options.status === 'all' ? {} : { status: options.status });
  const layout = SHEET_LAYOUTS[queue.task_type];
  const columns = options.format === 'csv' ? ['id', 'decision', 'status', 'flags', ...layout.columns, 'row_json', ...PROVENANCE_COLUMNS] : ['id', 'decision', 'status', 'flags', 'row', 'provenance'];
  const { trackPendingTemp } = await import('../workspace/pending-temps.js');
  const sink = new AtomicSink(options.path, (temp) => trackPendingTemp(workspace.root, temp));
  try {
    if (options.format === 'csv') sink.write(`${columns.join(',')}\n`);
    for (const row of rows) {
      if (options.format === 'jsonl') {
        sink.write(`${JSON.stringify({ id: row.id, decision: null, status: row.status, flags: row.flags, row: row.row, provenance: row.provenance })}\n`);
        continue;
      }
      const text = layout.flatten(row.row);
      const cells: Record<string, string> = { id: row.id, decision: '', status: row.status, flags: flagsCell(row), ...(text ?? {}), row_json: text ? '' : JSON.stringify(row.row), ...provenanceCells(row) };
      sink.write(`${columns.map((c) => csvField(FORMULA_START.test(cells[c] ?? '') ? `'${cells[c]}` : (cells[c] ?? ''))).join(',')}\n`);
    }
    return { path: options.path, format: options.format, rows: rows.length, columns, ...sink.commit() };
  } catch (error) {
    sink.abort();
    throw error;
  }
}

/** One line of a filled review file, with where each value sits (1-based line; column: CSV field or JSONL character). */
interface Entry {
  line: number;
  id: string;
  idColumn: number;
  decision?: 'approve' | 'reject';
  /** A changed row, and the column of the first change. */
  edit?: { row: unknown; column: number; what: string };
}

interface ImportReviewResult extends DecisionOutcome {
  path: string;
  lines: number;
}

/**
 * Reads a filled review file (CSV from a spreadsheet, or JSONL) and applies its decisions and edits
 * through the queue's one decision transaction, all or nothing. Every problem is reported with
 * `file:line:column`; with any problem nothing is recorded.
 */
export async function importReview(workspace: Workspace, options: { queue_id: string; path: string; reviewer: string }): Promise<ImportReviewResult> {
  const store = new ReviewQueueStore(workspace);
  const queue = store.get(options.queue_id);
  const file = options.path;
  const format = { '.csv': 'csv', '.jsonl': 'jsonl', '.json': 'jsonl' }[extname(file).toLowerCase()] as SheetFormat | undefined;
  if (!format) throw new FinetuneError('INVALID_INPUT', `'${file}' is neither .csv nor .jsonl: import_review reads the files export_review writes.`, { details: { file, field: 'path' } });
  const opened = openForRead(file, 'path');
  closeSync(opened.fd);
  if (opened.size > MAX_IMPORT_BYTES) throw new FinetuneError('INVALID_INPUT', `'${file}' is over ${MAX_IMPORT_BYTES >> 20} MB; a review file holds one queue's rows.`, { details: { file, field: 'path' } });
  const text = readUserFile(file, 'path', 'utf8');
  const rows = new Map(store.rows(queue.id).map((r) => [r.id, r]));
  const problems: Array<{ line: number; column: number; message: string }> = [];
  const problem = (line: number, column: number, message: string) => problems.push({ line, column, message });
  const entries = format === 'csv' ? csvEntries(text, rows, queue.task_type, problem) : jsonlEntries(text, rows, problem);
  const committed = store.committedIds(queue.id);
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (!rows.has(e.id)) problem(e.line, e.idColumn, `'${e.id}' is not a row of ${queue.id}`);
    else if (seen.has(e.id)) problem(e.line, e.idColumn, `${e.id} appears again (first on line ${seen.get(e.id)})`);
    else if (committed.has(e.id) && (e.decision === 'reject' || e.edit)) problem(e.line, e.edit?.column ?? e.idColumn, `${e.id} is in a dataset version already; it cannot be ${e.edit ? 'edited' : 'rejected'}`);
    seen.set(e.id, seen.get(e.id) ?? e.line);
  }
  const edits = entries.filter((e) => e.edit && rows.has(e.id));
  const checked = await checkRows(queue.task_type, edits.map((e) => e.edit!.row));
  checked.forEach((c, i) => {
    if (c.errors.length) problem(edits[i].line, edits[i].edit!.column, `the edited ${edits[i].edit!.what} is not a valid ${queue.task_type} row: ${describeErrors(c.errors)}`);
  });
  if (problems.length) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    const shown = problems.slice(0, 20).map((p) => `${file}:${p.line}:${p.column}: ${p.message}`);
    throw new FinetuneError('INVALID_INPUT', `${problems.length} problem(s) in the review file; nothing was recorded:\n${shown.join('\n')}${problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''}`, {
      recovery: 'Fix those cells (decision is approve, reject or blank; ids as export_review wrote them) and call import_review again.',
      details: { file, line: problems[0].line, column: problems[0].column, field: 'path', problems: problems.slice(0, 100) },
    });
  }
  // An edit the validator normalises back to the row as it stands is no edit.
  const changed = edits.filter((e, i) => JSON.stringify(checked[i].row) !== JSON.stringify(rows.get(e.id)!.row));
  const approve = entries.filter((e) => e.decision === 'approve').map((e) => e.id);
  const reject = entries.filter((e) => e.decision === 'reject').map((e) => e.id);
  if (!approve.length && !reject.length && !changed.length) {
    throw new FinetuneError('INVALID_INPUT', `'${file}' holds no decision and no edit (${entries.length} row(s) read): nothing to record.`, {
      recovery: 'Fill the decision column with approve or reject (or edit a row), save, and call import_review again.',
      details: { file, field: 'path' },
    });
  }
  const outcome = await store.decide(queue.id, { approve, reject, edits: changed.map((e) => ({ id: e.id, row: e.edit!.row })), reviewer: options.reviewer, via: 'import' });
  return { ...outcome, path: file, lines: entries.length };
}

type Problem = (line: number, column: number, message: string) => void;

function decisionOf(raw: unknown, line: number, column: number, problem: Problem): Entry['decision'] {
  if (raw === null || raw === undefined) return undefined;
  const value = String(raw).trim().toLowerCase();
  if (!value) return undefined;
  if (value === 'approve' || value === 'approved') return 'approve';
  if (value === 'reject' || value === 'rejected') return 'reject';
  problem(line, column, `decision '${String(raw).slice(0, 40)}' is not approve, reject or blank`);
  return undefined;
}

function csvEntries(text: string, rows: Map<string, ReviewRow>, task: keyof typeof SHEET_LAYOUTS, problem: Problem): Entry[] {
  const { parse } = createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync');
  let records: Array<{ record: string[]; info: { lines: number }; raw: string }>;
  try {
    records = parse(text, { info: true, raw: true, bom: true, skip_empty_lines: true, relax_column_count: true }) as never;
  } catch (error) {
    const e = error as { lines?: number; column?: number; message: string };
    problem(e.lines ?? 1, (e.column ?? 0) + 1, `not readable as CSV: ${e.message.replace(/^.*?: /, '').slice(0, 160)}`);
    return [];
  }
  if (!records.length) return [];
  // A record's first line: its last line less the line breaks inside it (blank lines skipped before it are in raw too).
  const startLine = (r: (typeof records)[number]) => r.info.lines - (r.raw.replace(/^(\r?\n)+/, '').replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0);
  const header = records[0].record.map((h) => h.trim());
  const at = (name: string) => header.indexOf(name);
  if (at('id') < 0 || at('decision') < 0) {
    problem(1, 1, `the header needs the columns id and decision (it has ${header.join(', ').slice(0, 200)})`);
    return [];
  }
  const layout = SHEET_LAYOUTS[task];
  const entries: Entry[] = [];
  for (const r of records.slice(1)) {
    const line = startLine(r);
    const cell = (name: string) => (at(name) >= 0 ? unquote(r.record[at(name)] ?? '') : undefined);
    const id = (cell('id') ?? '').trim();
    const entry: Entry = { line, id, idColumn: at('id') + 1, decision: decisionOf(cell('decision'), line, at('decision') + 1, problem) };
    const current = rows.get(id);
    if (current) {
      const before = layout.flatten(current.row);
      const rowJson = cell('row_json')?.trim();
      if (rowJson && (!before || rowJson !== JSON.stringify(current.row))) {
        try {
          entry.edit = { row: JSON.parse(rowJson), column: at('row_json') + 1, what: 'row_json' };
        } catch (error) {
          problem(line, at('row_json') + 1, `row_json is not valid JSON (${jsonErrorWhere(error, rowJson)})`);
        }
      } else if (before) {
        const differs = layout.columns.filter((c) => cell(c) !== undefined && lf(cell(c)!) !== lf(before[c] ?? ''));
        if (differs.length) {
          const cells = { ...before, ...Object.fromEntries(layout.columns.filter((c) => cell(c) !== undefined).map((c) => [c, lf(cell(c)!)])) };
          try {
            entry.edit = { row: layout.build(cells), column: at(differs[0]) + 1, what: differs.join(', ') };
          } catch (error) {
            problem(line, at(differs[0]) + 1, `${differs[0]} cannot be read (${(error as Error).message.slice(0, 120)})`);
          }
        }
      }
    }
    if (id || entry.decision) entries.push(entry);
  }
  return entries;
}

function jsonlEntries(text: string, rows: Map<string, ReviewRow>, problem: Problem): Entry[] {
  const entries: Entry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let value: { id?: unknown; decision?: unknown; row?: unknown };
    try {
      value = JSON.parse(raw) as typeof value;
    } catch (error) {
      const where = /position (\d+)/.exec((error as Error).message);
      return void problem(line, where ? Number(where[1]) + 1 : 1, `not valid JSON (${jsonErrorWhere(error, raw)})`);
    }
    if (!value || typeof value !== 'object' || typeof value.id !== 'string') return void problem(line, 1, 'a line is an object with a string "id"');
    const column = (key: string) => Math.max(1, raw.indexOf(`"${key}"`) + 1);
    const entry: Entry = { line, id: value.id, idColumn: column('id'), decision: decisionOf(value.decision, line, column('decision'), problem) };
    const current = rows.get(value.id);
    if (current && value.row !== undefined && JSON.stringify(value.row) !== JSON.stringify(current.row)) entry.edit = { row: value.row, column: column('row'), what: 'row' };
    entries.push(entry);
  });
  return entries;
}

/** A spreadsheet's line ends, read as \n. */
function lf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Takes off the quote export put before formula-like text. */
function unquote(cell: string): string {
  return /^'+[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}
