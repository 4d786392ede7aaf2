import { throwIfCancelled } from './cancel.js';
import { closeSync, createReadStream, readSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAscii, isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { openForRead, readUserFile } from '../workspace/confine.js';
import { issue, type DatasetIssue } from './issues.js';
import { readLineBatches, readLines, type RawLine } from './line-reader.js';
import { hashBytes, type Hash64 } from './fingerprint.js';
import { countJsonValues, firstJsonByte, readJsonArrayBatches } from './json-array-reader.js';
import { DEFAULT_MAX_CSV_COLUMNS, DEFAULT_MAX_JSON_VALUES } from './limits.js';

/** One record read from a source file: a parsed value, or the issue that kept it from parsing. */
export interface SourceRecord {
  file: string;
  line: number;
  value?: unknown;
  issue?: DatasetIssue;
  /** Fingerprint of the raw line's bytes (JSON Lines only): exact duplicates are found without re-serialising. */
  fingerprint?: Hash64;
}

type SourceKind = 'jsonl' | 'json' | 'csv' | 'tsv' | 'txt';

export interface ReadSourceOptions {
  maxLineBytes: number;
  /** Largest `.json` file that is one value, not an array (read whole); arrays stream element by element. */
  maxJsonBytes: number;
  /** JSON values allowed in one example (a JSONL line, an array element); default DEFAULT_MAX_JSON_VALUES. */
  maxJsonValues?: number;
  /** Columns allowed in a CSV or TSV header; default DEFAULT_MAX_CSV_COLUMNS. */
  maxCsvColumns?: number;
  /** For .txt sources: a literal that ends a document (e.g. "<|endoftext|>"); blank lines when empty. */
  textSeparator: string;
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const KIND_BY_EXTENSION: Record<string, SourceKind> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.txt': 'txt',
  '.text': 'txt',
};

export function sourceKind(path: string): SourceKind | undefined {
  return KIND_BY_EXTENSION[extname(path).toLowerCase()];
}

/** The data files of a source: the file itself, or a folder's supported files in name order. */
export async function sourceFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new FinetuneError('FILE_ERROR', `No file or folder at '${path}'.`, { details: { file: path, field: 'path' } });
  }
  if (!info.isDirectory()) {
    if (!info.isFile()) {
      // A FIFO (or socket, device) would block the thread that opens it, and with it every file tool.
      throw new FinetuneError('FILE_ERROR', `'${path}' is not a regular file (a pipe, socket or device); only regular files and folders are read.`, { details: { file: path, field: 'path' } });
    }
    if (!sourceKind(path)) {
      throw new FinetuneError('FILE_ERROR', `'${path}' has an unsupported extension '${extname(path)}'.`, {
        recovery: 'Use a .jsonl, .json, .csv, .tsv or .txt file, or a folder of them.',
        details: { file: path, field: 'path' },
      });
    }
    return [path];
  }
  const files = (await readdir(path, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && sourceKind(e.name))
    .map((e) => join(path, e.name))
    .sort();
  if (!files.length) {
    throw new FinetuneError('FILE_ERROR', `Folder '${path}' holds no .jsonl, .json, .csv, .tsv or .txt files.`, { details: { file: path, field: 'path' } });
  }
  return files;
}

/** readSource in batches (a chunk's worth of JSON Lines at a time): the fast path for large files. */
export async function* readSourceBatches(path: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord[]> {
  const files = await sourceFiles(path);
  let doneBytes = 0;
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  for (const [index, file] of files.entries()) {
    const fileOptions = { ...options, onProgress: (n: number) => options.onProgress?.(doneBytes + n, totalBytes) };
    const notText = await sniffNotText(file, sizes[index]);
    if (notText) {
      yield [{ file, line: notText.line, issue: notText }];
    } else {
      const kind = sourceKind(file)!;
      if (kind === 'jsonl') yield* readJsonLines(file, fileOptions);
      else if (kind === 'json') yield* readJsonFile(file, sizes[index], fileOptions);
      else if (kind === 'csv' || kind === 'tsv') yield* single(readDelimited(file, kind === 'tsv' ? '\t' : ',', fileOptions));
      else yield* single(readTextDocuments(file, fileOptions));
    }
    doneBytes += sizes[index];
  }
}

/** One clear issue for a file that is empty or not text at all (NUL bytes in its first 64 KiB). */
async function sniffNotText(file: string, size: number): Promise<DatasetIssue | undefined> {
  if (size === 0) return issue(1, 'error', 'empty_file', '', `File '${file}' is empty.`, 'Point at the file that holds the examples.');
  // Opened confined and verified, never blocking on a FIFO swapped in after the path was checked (src/workspace/confine.ts).
  const { fd } = openForRead(file);
  try {
    const head = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, head, 0, head.length, 0);
    if (head.includes(0)) {
      return issue(1, 'error', 'binary_file', '', `File '${file}' is binary, not a text dataset.`, 'Export the data as JSONL, JSON, CSV or plain text first.');
    }
  } finally {
    closeSync(fd);
  }
  return undefined;
}

async function* single(records: AsyncGenerator<SourceRecord>): AsyncGenerator<SourceRecord[]> {
  for await (const record of records) yield [record];
}

async function* readJsonLines(file: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord[]> {
  // One batch a 64 KiB chunk (the line reader's size): one await per batch, not per line.
  for await (const lines of readLineBatches(file, { maxLineBytes: options.maxLineBytes, signal: options.signal, onProgress: options.onProgress as never })) {
    const batch: SourceRecord[] = [];
    for (const raw of lines) {
      const record = jsonLineRecord(file, raw, options.maxLineBytes, maxJsonValues(options));
      if (record) batch.push(record);
    }
    yield batch;
  }
}

/** One JSON line as a record: its value, or the issue that kept it from parsing; undefined for a blank line. */
export function jsonLineRecord(file: string, raw: RawLine, maxLineBytes: number, maxValues = DEFAULT_MAX_JSON_VALUES): SourceRecord | undefined {
  if (raw.too_long) {
    return {
      file,
      line: raw.line,
      issue: issue(raw.line, 'error', 'line_too_long', '', `Line is ${raw.byte_length} bytes, over the ${maxLineBytes}-byte limit.`, 'Split or shorten this example, or raise datasets.max_line_bytes.'),
    };
  }
  if (isBlank(raw.bytes)) return undefined;
  const parsed = parseJsonExample(raw.bytes, maxValues);
  if ('value' in parsed) return { file, line: raw.line, value: parsed.value, fingerprint: hashBytes(raw.bytes) };
  if (parsed.code === 'too_many_values') return { file, line: raw.line, issue: tooManyValues(raw.line, 'Line', maxValues) };
  if (parsed.code === 'invalid_utf8') {
    return { file, line: raw.line, issue: issue(raw.line, 'error', 'invalid_utf8', '', 'Line is not valid UTF-8.', 'Re-encode the file as UTF-8 (clean_dataset fixes encodings of prepared data).') };
  }
  return { file, line: raw.line, issue: issue(raw.line, 'error', 'invalid_json', '', parsed.message, 'Make each line one complete JSON object (no trailing commas, quotes escaped).') };
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/**
 * A `.json` file: a JSON array streams element by element (each element one example, under the same
 * limits as a JSONL line); one other value is read whole up to `maxJsonBytes`; a file of objects one a
 * line is read as JSON Lines.
 */
async function* readJsonFile(file: string, size: number, options: ReadSourceOptions): AsyncGenerator<SourceRecord[]> {
  const first = firstJsonByte(file);
  if (first === 0x5b) {
    yield* readJsonArray(file, options);
    return;
  }
  // Too large to read whole as one value: JSON Lines (first line a value) stream, anything else is refused.
  const overLimit = async function* (refusal: DatasetIssue): AsyncGenerator<SourceRecord[]> {
    if (first === 0x7b && (await firstLineIsJson(file, options))) yield* readJsonLines(file, options);
    else yield [{ file, line: 1, issue: refusal }];
  };
  if (size > options.maxJsonBytes) {
    yield* overLimit(issue(1, 'error', 'file_too_large', '', `JSON file is ${size} bytes and not an array: one value over the ${options.maxJsonBytes}-byte limit (datasets.max_json_bytes).`, 'Make it a JSON array or JSON Lines (one example a line), which stream at any size.'));
    return;
  }
  const bytes = readUserFile(file);
  options.onProgress?.(size, size);
  if (!isUtf8(bytes)) {
    yield [{ file, line: 1, issue: issue(1, 'error', 'invalid_utf8', '', 'File is not valid UTF-8.', 'Re-encode the file as UTF-8.') }];
    return;
  }
  if (countJsonValues(bytes, maxJsonValues(options)) > maxJsonValues(options)) {
    yield* overLimit(tooManyValues(1, 'The file', maxJsonValues(options)));
    return;
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (text.trimStart().startsWith('{')) {
      yield* readJsonLines(file, options);
      return;
    }
    const line = lineOfError(text, error as Error);
    yield [{ file, line, issue: issue(line, 'error', 'invalid_json', '', `Invalid JSON: ${(error as Error).message}.`, 'Fix the syntax at this line; the whole file must be one JSON array.') }];
    return;
  }
  yield [{ file, line: 1, value }];
}

/** Whether the first line of a file is one complete JSON value (so the file is JSON Lines). */
async function firstLineIsJson(file: string, options: ReadSourceOptions): Promise<boolean> {
  for await (const lines of readLineBatches(file, { maxLineBytes: options.maxLineBytes, signal: options.signal })) {
    const record = lines.length ? jsonLineRecord(file, lines[0], options.maxLineBytes, maxJsonValues(options)) : undefined;
    return record?.value !== undefined;
  }
  return false;
}

/** A JSON array's elements as records, one batch a 64 KiB chunk; each element is located by index, line and byte offset. */
async function* readJsonArray(file: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord[]> {
  const maxValues = maxJsonValues(options);
  const fix = 'Fix this element; the whole file must be one JSON array of examples.';
  for await (const { elements, problem } of readJsonArrayBatches(file, { maxElementBytes: options.maxLineBytes, signal: options.signal, onProgress: options.onProgress as never })) {
    const batch: SourceRecord[] = [];
    for (const element of elements) {
      const where = `Element ${element.index} (byte ${element.offset})`;
      const { line } = element;
      if (element.too_long) {
        batch.push({ file, line, issue: issue(line, 'error', 'element_too_long', '', `${where} is ${element.byte_length} bytes, over the ${options.maxLineBytes}-byte limit.`, 'Split or shorten this example, or raise datasets.max_line_bytes.') });
        continue;
      }
      const parsed = parseJsonExample(element.buffer, maxValues, element.start, element.end, element.ascii);
      if ('value' in parsed) batch.push({ file, line, value: parsed.value });
      else if (parsed.code === 'too_many_values') batch.push({ file, line, issue: tooManyValues(line, where, maxValues) });
      else batch.push({ file, line, issue: issue(line, 'error', parsed.code, '', `${where}: ${parsed.message}`, fix) });
    }
    if (problem) {
      const at = `${problem.message} (line ${problem.line}, byte ${problem.offset})`;
      batch.push({ file, line: problem.line, issue: issue(problem.line, 'error', 'invalid_json', '', `Invalid JSON array: ${at}; the rest of the file is not read.`, fix) });
    }
    yield batch;
  }
}

function maxJsonValues(options: ReadSourceOptions): number {
  return options.maxJsonValues ?? DEFAULT_MAX_JSON_VALUES;
}

function tooManyValues(line: number, what: string, limit: number): DatasetIssue {
  return issue(line, 'error', 'too_many_values', '', `${what} holds over ${limit} JSON values (objects, arrays and their items); parsing it would take ~${Math.round(limit / 10_000)} MB or more.`, 'Shorten this example, or raise datasets.max_json_values.');
}

/** One example's JSON text parsed, or why it could not be: not UTF-8, over the value budget, bad syntax. */
function parseJsonExample(
  buffer: Buffer,
  maxValues: number,
  start = 0,
  end = buffer.length,
  // ASCII (most lines) is its own Latin-1 decoding, which skips UTF-8 decoding and makes a one-byte string.
  ascii = isAscii(buffer),
): { value: unknown } | { code: 'invalid_utf8' | 'too_many_values' | 'invalid_json'; message: string } {
  if (!ascii && !isUtf8(buffer.subarray(start, end))) return { code: 'invalid_utf8', message: 'not valid UTF-8.' };
  if (end - start > maxValues && countJsonValues(buffer.subarray(start, end), maxValues) > maxValues) return { code: 'too_many_values', message: '' };
  try {
    return { value: JSON.parse(buffer.toString(ascii ? 'latin1' : 'utf8', start, end)) };
  } catch (error) {
    return { code: 'invalid_json', message: `Invalid JSON: ${(error as Error).message}.` };
  }
}

function lineOfError(text: string, error: Error): number {
  const position = /position (\d+)/.exec(error.message)?.[1];
  const line = /line (\d+)/.exec(error.message)?.[1];
  if (line) return Number(line);
  if (!position) return 1;
  let count = 1;
  for (let i = 0; i < Number(position) && i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

function tooManyColumns(file: string, message: string): SourceRecord {
  return { file, line: 1, issue: issue(1, 'error', 'too_many_columns', '', `${message}; the file is not read.`, 'Keep the fields of an example in a few columns (e.g. text, label), or raise datasets.max_csv_columns.') };
}

/**
 * The header's columns, counted on the bytes (delimiters outside quotes up to the first line end,
 * blank lines before it skipped), reading at most `limitBytes`: csv-parse builds every field of the
 * header before its `columns` hook can refuse them (8 s for a million columns); this takes ~20 ms.
 */
function headerColumns(fd: number, delimiter: string, limitBytes: number): number {
  const delim = delimiter.charCodeAt(0);
  const buffer = Buffer.allocUnsafe(1 << 20);
  let columns = 1;
  let quoted = false;
  let content = false;
  for (let position = 0; position < limitBytes; ) {
    const n = readSync(fd, buffer, 0, buffer.length, position);
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const c = buffer[i];
      if (c === 0x22) quoted = !quoted; // an escaped quote ("") toggles twice
      else if (quoted) continue;
      else if (c === delim) columns++;
      else if (c === 0x0a || c === 0x0d) {
        if (content) return columns;
        continue;
      }
      content = true;
    }
    position += n;
  }
  return columns;
}

/**
 * A CSV or TSV file, one record an example under its header's column names. A record is at most
 * `maxLineBytes` (csv-parse would grow a field without end: an unterminated quote took 2.7 GB for a
 * 1.5 GB file) and the header at most `maxCsvColumns` columns (a million columns took 475 MB for
 * 12 MB); past either, one issue names the line and the rest of the file is not read.
 */
async function* readDelimited(file: string, delimiter: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord> {
  const skipped: SourceRecord[] = [];
  const maxColumns = options.maxCsvColumns ?? DEFAULT_MAX_CSV_COLUMNS;
  // csv-parse loads with the first CSV or TSV source, not at start-up.
  const { parse: parseCsv } = createRequire(import.meta.url)('csv-parse') as typeof import('csv-parse');
  const { fd } = openForRead(file);
  const header = headerColumns(fd, delimiter, options.maxLineBytes ?? Number.POSITIVE_INFINITY);
  if (header > maxColumns) {
    closeSync(fd);
    yield tooManyColumns(file, `The header has ${header} columns, over the ${maxColumns}-column limit (datasets.max_csv_columns)`);
    return;
  }
  const source = createReadStream(file, { fd });
  // csv-parse cannot find where an oversized record ends (it drops the rest of the chunk and keeps
  // failing): stop reading there; the records parsed before it still come.
  let tooLong = false;
  const parser = source.pipe(
    parseCsv({
      columns: (header: string[]) => {
        if (header.length > maxColumns) throw Object.assign(new Error(`The header has ${header.length} columns, over the ${maxColumns}-column limit (datasets.max_csv_columns)`), { code: 'TOO_MANY_COLUMNS' });
        return header;
      },
      delimiter,
      bom: true,
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      relax_quotes: false,
      max_record_size: options.maxLineBytes,
      on_skip: (err) => {
        if (tooLong) return undefined;
        if (err?.code === 'CSV_MAX_RECORD_SIZE') {
          tooLong = true;
          source.unpipe(parser);
          source.destroy();
          parser.end();
          return undefined;
        }
        const line = (err as { lines?: number } | undefined)?.lines ?? 0;
        skipped.push({ file, line, issue: issue(line, 'error', 'invalid_csv', '', `Invalid CSV record: ${err?.message ?? 'unparseable'}.`, 'Quote fields that contain the delimiter, quotes or newlines; keep the column count of the header.') });
        return undefined;
      },
    }),
  );
  let lastLine = 1;
  try {
    for await (const entry of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      throwIfCancelled(options.signal);
      while (skipped.length) yield skipped.shift()!;
      lastLine = entry.info.lines;
      yield { file, line: entry.info.lines, value: entry.record };
    }
  } catch (error) {
    if ((error as { code?: string }).code !== 'TOO_MANY_COLUMNS') throw error;
    yield tooManyColumns(file, (error as Error).message);
    return;
  } finally {
    source.destroy();
  }
  while (skipped.length) yield skipped.shift()!;
  if (tooLong) {
    const line = lastLine + 1;
    yield { file, line, issue: issue(line, 'error', 'record_too_long', '', `The record starting at line ${line} is over the ${options.maxLineBytes}-byte limit (is a quote left open?); the rest of the file is not read.`, 'Close the quote, or split this example, or raise datasets.max_line_bytes.') };
  }
}

/** Plain text for continued pre-training: one `{text}` per document. */
async function* readTextDocuments(file: string, options: ReadSourceOptions): AsyncGenerator<SourceRecord> {
  const separator = options.textSeparator;
  let buffer: string[] = [];
  let startLine = 0;
  let bufferBytes = 0;
  let tooLong = false;
  const flush = function* (): Generator<SourceRecord> {
    if (tooLong) {
      yield { file, line: startLine, issue: issue(startLine, 'error', 'document_too_long', '', `Document is over the ${options.maxLineBytes}-byte limit.`, 'Separate documents (text_separator), or raise datasets.max_line_bytes.') };
    } else {
      const text = buffer.join('\n').trim();
      if (text) yield { file, line: startLine, value: { text } };
    }
    buffer = [];
    bufferBytes = 0;
    tooLong = false;
    startLine = 0;
  };
  // A document grows line by line; past the byte limit its text is dropped (and reported), never held.
  const append = (text: string) => {
    bufferBytes += text.length + 1;
    if (bufferBytes > options.maxLineBytes) {
      tooLong = true;
      buffer = [];
    } else if (!tooLong) buffer.push(text);
  };
  for await (const raw of readLines(file, { maxLineBytes: options.maxLineBytes, signal: options.signal })) {
    if (raw.too_long || !isUtf8(raw.bytes)) {
      const code = raw.too_long ? 'line_too_long' : 'invalid_utf8';
      yield { file, line: raw.line, issue: issue(raw.line, 'error', code, '', raw.too_long ? 'Line over the byte limit.' : 'Line is not valid UTF-8.', 'Fix or remove this line.') };
      continue;
    }
    const text = raw.bytes.toString('utf8');
    if (separator === '\n') {
      // one text a line (a tweet, a sentence): each non-blank line is a document
      if (text.trim()) {
        startLine = raw.line;
        append(text);
        yield* flush();
      }
      continue;
    }
    if (!separator) {
      if (!text.trim()) yield* flush();
      else {
        if (!startLine) startLine = raw.line;
        append(text);
      }
      continue;
    }
    const parts = text.split(separator);
    for (const [i, part] of parts.entries()) {
      if (i > 0) yield* flush();
      if (part.trim() && !startLine) startLine = raw.line;
      if (part.trim() || startLine) append(part);
    }
  }
  yield* flush();
}

/**
 * About how many rows a JSON Lines file holds, from the line lengths in 64 KiB at its start and at its
 * middle; 0 for other sources. Duplicate tables and count columns are sized with it once instead of
 * growing. At most MAX_ESTIMATED_ROWS: a wrong guess (short rows in both samples only) costs memory
 * whether or not the rows come, so past that the tables grow with the rows that do.
 */
const MAX_ESTIMATED_ROWS = 4_000_000;

export function estimateRows(path: string): number {
  if (sourceKind(path) !== 'jsonl') return 0;
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    fd = openForRead(path).fd;
    const sample = Buffer.allocUnsafe(Math.min(size, 65536));
    let lines = 0;
    let bytes = 0;
    for (const at of [0, Math.max(0, Math.floor(size / 2) - sample.length)]) {
      const n = readSync(fd, sample, 0, sample.length, at);
      for (let i = sample.indexOf(10); i !== -1 && i < n; i = sample.indexOf(10, i + 1)) lines++;
      bytes += n;
    }
    return bytes ? Math.min(MAX_ESTIMATED_ROWS, Math.ceil((size * Math.max(lines, 1)) / bytes)) : 0;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
