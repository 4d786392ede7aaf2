/**
 * validate on two cores: a large JSON Lines file is split at a line start into two byte ranges, each
 * validated by a worker thread; the main thread checks duplicates in line order from the per-row hashes
 * the workers send, so issues and summary are the ones the single-threaded pass gives. Any worker
 * failure falls back to that pass. Memory on the main thread: the duplicate index plus, while the first
 * range is still running, ~20 bytes a row of the second range (line, slot, two hashes) and its listed issues.
 */
import { closeSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { openForRead } from '../workspace/confine.js';
import { throwIfCancelled } from './cancel.js';
import { detectFormat } from './formats.js';
import type { DatasetIssue } from './issues.js';
import { readLineBatches } from './line-reader.js';
import { estimateRows, jsonLineRecord, readSourceBatches, sourceKind, type ReadSourceOptions } from './sources.js';
import { FORMAT_TASK, type SourceFormat } from './types.js';
import { datasetChecks, LineOrderDuplicates, validateRecords, type ValidateOptions, type ValidationResult, type ValidationSummary, type ValidationThresholds } from './validate.js';

/** Files from this size up are validated in two ranges (smaller ones are not worth two thread start-ups). */
const PARALLEL_MIN_BYTES = 32 << 20;
/** How far into the file the layout is looked for before the second range starts (else single-threaded). */
const FORMAT_SCAN_BYTES = 4 << 20;

export interface RangeInput {
  path: string;
  start: number;
  end: number;
  maxLineBytes: number;
  maxJsonValues?: number;
  format?: SourceFormat;
  labels?: string[];
  maxIssues: number;
  thresholds: ValidationThresholds;
}

/** Rows that need the main thread: those with duplicate hashes (slot ≥ 0) or issues it may list. */
export interface RangeRows {
  type: 'rows';
  /** Bytes of the range read so far. */
  bytes: number;
  /** Rows in this message (the arrays may be longer). */
  count: number;
  lines: Uint32Array;
  /** Where in the row's issues a duplicate issue goes; -1: the row has no duplicate check. */
  slots: Int32Array;
  /** Exact then near hash, two 32-bit words each, a row. */
  hashes: Uint32Array;
  /** [row index in this message, the row's issues other than duplicates]. */
  issues: Array<[number, DatasetIssue[]]>;
}

export interface RangeDone extends Pick<ValidationSummary, 'format' | 'records' | 'valid_rows' | 'rows_with_errors' | 'errors' | 'warnings' | 'by_code'> {
  type: 'done';
  last_line: number;
  /** Label counts in first-seen order. */
  labels: Array<[string, number]>;
}

interface ParallelOptions {
  /** Files smaller than this take the single-threaded path. */
  minBytes?: number;
  /** Another worker module (tests: one that fails, to prove the fallback). */
  workerEntry?: URL;
}

/** Validates a source file or folder: in two ranges when it is one large JSON Lines file, else in one pass. */
export async function validateSource(path: string, sourceOptions: ReadSourceOptions, options: ValidateOptions, parallel: ParallelOptions = {}): Promise<ValidationResult> {
  options = { ...options, expectedRows: options.expectedRows ?? estimateRows(path) };
  const singlePass = () => validateRecords(readSourceBatches(path, sourceOptions), options);
  try {
    return (await validateInRanges(path, sourceOptions, options, parallel)) ?? (await singlePass());
  } catch (error) {
    throwIfCancelled(options.signal);
    void error; // a worker failed (out of memory, a crash): the single pass gives the same result, slower
    return singlePass();
  }
}

/** The two-range pass alone: undefined when the source does not qualify; throws when a worker fails. */
export async function validateInRanges(path: string, sourceOptions: ReadSourceOptions, options: ValidateOptions, parallel: ParallelOptions = {}): Promise<ValidationResult | undefined> {
  const plan = await planRanges(path, sourceOptions, options, parallel.minBytes ?? PARALLEL_MIN_BYTES);
  return plan ? validateRanges(path, plan, sourceOptions, options, parallel.workerEntry) : undefined;
}

interface Plan {
  size: number;
  split: number;
  /** The layout of the first record that has one: given to the second range. */
  format: SourceFormat;
}

async function planRanges(path: string, sourceOptions: ReadSourceOptions, options: ValidateOptions, minBytes: number): Promise<Plan | undefined> {
  // Token counting, PII scans and folders keep the single pass (their state is not split here).
  if (options.counter || options.pii?.length || options.withFile || options.duplicates || sourceKind(path) !== 'jsonl') return undefined;
  let size: number;
  try {
    const info = statSync(path);
    if (!info.isFile()) return undefined;
    size = info.size;
  } catch {
    return undefined;
  }
  if (size < minBytes || size === 0) return undefined;
  const split = lineStartAfter(path, Math.floor(size / 2), size, sourceOptions.maxLineBytes);
  if (split === undefined || split >= size) return undefined;
  const format = options.format ?? (await firstFormat(path, Math.min(split, FORMAT_SCAN_BYTES), sourceOptions.maxLineBytes));
  return format ? { size, split, format } : undefined;
}

/** The offset after the first newline at or after `from`; a binary head (NUL bytes) gives undefined. */
function lineStartAfter(path: string, from: number, size: number, maxLineBytes: number): number | undefined {
  const { fd } = openForRead(path);
  try {
    const head = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, head, 0, head.length, 0);
    if (head.includes(0)) return undefined;
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (let at = from; at < size && at - from <= maxLineBytes + chunk.length; ) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n === 0) return undefined;
      const nl = chunk.subarray(0, n).indexOf(0x0a);
      if (nl !== -1) return at + nl + 1;
      at += n;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The layout validateRecords would detect: that of the first parsed record that has one. */
async function firstFormat(path: string, end: number, maxLineBytes: number): Promise<SourceFormat | undefined> {
  for await (const lines of readLineBatches(path, { maxLineBytes, end })) {
    for (const raw of lines) {
      const record = jsonLineRecord(path, raw, maxLineBytes);
      const format = record && !record.issue ? detectFormat(record.value) : undefined;
      if (format) return format;
    }
  }
  return undefined;
}

/**
 * The worker: the built .js as is; from TypeScript sources (tests, bench) a bootstrap that registers tsx
 * first (Node 20 ignores `--import tsx` in a worker's execArgv for module loading).
 */
function startWorker(workerData: RangeInput, entry?: URL): Worker {
  // A 24 MB young generation a worker keeps the process (both workers + main) under 300 MB RSS on a 1 GB
  // file (default: ~319 MB) at about the same speed; 16 MB or less costs ~10% in GC.
  const resourceLimits = { maxYoungGenerationSizeMb: 24 };
  if (entry) return new Worker(entry, { workerData, resourceLimits });
  const fromTs = import.meta.url.endsWith('.ts');
  const url = new URL(`./parallel-validate-worker.${fromTs ? 'ts' : 'js'}`, import.meta.url);
  if (!fromTs) return new Worker(url, { workerData, resourceLimits });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

async function validateRanges(path: string, plan: Plan, sourceOptions: ReadSourceOptions, options: ValidateOptions, workerEntry?: URL): Promise<ValidationResult> {
  throwIfCancelled(options.signal);
  const base = { path, maxLineBytes: sourceOptions.maxLineBytes, maxJsonValues: sourceOptions.maxJsonValues, labels: options.labels, maxIssues: options.maxIssues, thresholds: options.thresholds };
  const inputs: RangeInput[] = [
    { ...base, start: 0, end: plan.split, format: options.format },
    { ...base, start: plan.split, end: plan.size, format: plan.format },
  ];
  const workers = inputs.map((input) => startWorker(input, workerEntry));
  const merge = new RangeMerge(options);
  const bytes = [0, 0];
  /** Messages of the second range wait here until the first range's last line number is known. */
  const waiting: Array<RangeRows | RangeDone> = [];
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onAbort = () => reject(new Error('cancelled'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const take = (range: number, message: RangeRows | RangeDone) => {
        if (message.type === 'rows') {
          bytes[range] = message.bytes;
          sourceOptions.onProgress?.(bytes[0] + bytes[1], plan.size);
        }
        if (range === 1 && !merge.firstDone) {
          waiting.push(message);
          return;
        }
        merge.take(range, message);
        if (range === 0 && message.type === 'done') for (const queued of waiting.splice(0)) merge.take(1, queued);
        if (merge.firstDone && merge.secondDone) resolve();
      };
      workers.forEach((worker, range) => {
        worker.on('message', (message: RangeRows | RangeDone) => {
          try {
            take(range, message);
          } catch (error) {
            reject(error);
          }
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`validation worker exited with code ${code}`));
        });
      });
    });
  } finally {
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  throwIfCancelled(options.signal);
  return merge.result(plan.format);
}

/** Folds the two ranges' rows, in line order, into one result as validateRecords builds it. */
class RangeMerge {
  private readonly issues: DatasetIssue[] = [];
  /** Codes in first-seen order (the summary's key order), with the duplicate counts found here. */
  private readonly codes: Record<string, number> = {};
  private readonly duplicates: LineOrderDuplicates;
  private readonly done: RangeDone[] = [];
  private offset = 0;
  private duplicateWarnings = 0;

  constructor(private readonly options: ValidateOptions) {
    this.duplicates = new LineOrderDuplicates(options.expectedRows);
  }

  get firstDone(): boolean {
    return this.done[0] !== undefined;
  }

  get secondDone(): boolean {
    return this.done[1] !== undefined;
  }

  take(range: number, message: RangeRows | RangeDone): void {
    if (message.type === 'done') {
      this.done[range] = message;
      if (range === 0) this.offset = message.last_line;
      return;
    }
    const offset = range === 0 ? 0 : this.offset;
    const { lines, slots, hashes, issues } = message;
    let next = 0;
    this.duplicates.warm(hashes, message.count);
    for (let i = 0; i < message.count; i++) {
      const line = lines[i] + offset;
      const slot = slots[i];
      const duplicate = slot >= 0 ? this.duplicates.checkWords(line, hashes[4 * i], hashes[4 * i + 1], hashes[4 * i + 2], hashes[4 * i + 3]) : undefined;
      const own = next < issues.length && issues[next][0] === i ? issues[next++][1] : undefined;
      if (!own && !duplicate) continue;
      const rowIssues = own ?? [];
      if (offset) for (const found of rowIssues) found.line += offset;
      if (duplicate) {
        this.codes[duplicate.code] = (this.codes[duplicate.code] ?? 0) + 1;
        this.duplicateWarnings++;
        rowIssues.splice(Math.min(slot, rowIssues.length), 0, duplicate);
      }
      for (const found of rowIssues) {
        this.codes[found.code] ??= 0;
        if (this.issues.length < this.options.maxIssues) this.issues.push(found);
      }
    }
  }

  result(detected: SourceFormat): ValidationResult {
    const [a, b] = this.done;
    const format = this.options.format ?? a.format ?? detected;
    const task = FORMAT_TASK[format];
    const records = a.records + b.records;
    const validRows = a.valid_rows + b.valid_rows;
    const labels = new Map<string, number>(a.labels);
    for (const [label, n] of b.labels) labels.set(label, (labels.get(label) ?? 0) + n);
    const byCode: Record<string, number> = {};
    for (const [code, n] of Object.entries(this.codes)) byCode[code] = n + (a.by_code[code] ?? 0) + (b.by_code[code] ?? 0);
    let errors = a.errors + b.errors;
    let warnings = a.warnings + b.warnings + this.duplicateWarnings;
    for (const found of datasetChecks(records, validRows, task, labels, this.options)) {
      byCode[found.code] = (byCode[found.code] ?? 0) + 1;
      if (found.severity === 'error') errors++;
      else warnings++;
      if (this.issues.length < this.options.maxIssues) this.issues.push(found);
    }
    const summary: ValidationSummary = {
      format,
      task_type: task,
      records,
      valid_rows: validRows,
      rows_with_errors: a.rows_with_errors + b.rows_with_errors,
      errors,
      warnings,
      by_code: byCode,
      issues_truncated: errors + warnings > this.options.maxIssues,
    };
    if (labels.size) summary.labels = Object.fromEntries([...labels].sort((x, y) => y[1] - x[1]));
    return { issues: this.issues, summary };
  }
}
