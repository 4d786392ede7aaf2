/**
 * The rows judge_outputs judges, from a dataset version's chat rows, a JSONL file of
 * `{input, output, context?}` (or chat `{messages}`) rows, or a data-source plugin (Phoenix spans).
 * Each becomes the output to judge (the last assistant message), the conversation before it, and
 * the context a faithfulness rubric judges against: the row's `context` field when it has one,
 * else its system messages (what a RAG prompt puts its retrieved passages in).
 */
import { readLines } from '../datasets/line-reader.js';
import { FinetuneError } from '../errors.js';
import type { DataSource } from '../plugins/providers.js';
import type { Services } from '../services.js';
import type { OutputToJudge } from './judges/output-scorer.js';

export interface JudgeRow {
  /** 0-based, in source order. */
  position: number;
  /** Where the row came from: "line 3", or a span id. */
  ref: string;
  span_id: string | null;
  trace_id: string | null;
  /** What is judged; null when the row cannot be (then `unjudgeable` says why). */
  item: OutputToJudge | null;
  unjudgeable?: string;
  /** The row as chat messages (plus context), stored with the run so judged rows can become training data. */
  row: { messages: Message[]; context?: string };
}

interface Message {
  role: string;
  content: string;
  tool_calls?: unknown[];
  [key: string]: unknown;
}

export interface LoadedRows {
  /** "dataset", "file", or the data-source plugin's name ("phoenix"). */
  source: string;
  /** The dataset id, the file path or "phoenix:<project>". */
  source_ref: string;
  rows: JudgeRow[];
  /** True when more rows were there than `limit`. */
  truncated: boolean;
  /** Records the data source could not turn into rows (spans without messages…), with the reason. */
  source_skipped: Array<{ ref: string; reason: string }>;
  /** The data source, for writing scores back. */
  data_source?: DataSource;
}

export interface RowsRequest {
  dataset_id?: string;
  split?: 'train' | 'validation' | 'test';
  path?: string;
  source?: string;
  query?: Record<string, unknown>;
  limit: number;
  signal?: AbortSignal;
}

const MAX_LINE_BYTES = 16 << 20;

export async function loadJudgeRows(services: Services, request: RowsRequest): Promise<LoadedRows> {
  const given = [request.dataset_id, request.path, request.source].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new FinetuneError('INVALID_INPUT', `Pass exactly one of dataset_id, path and source (got ${given}).`, {
      recovery: 'E.g. {"dataset_id": "ds_…"}, {"path": "./outputs.jsonl"} or {"source": "phoenix", "query": {"project": "support-bot"}}.',
      details: { field: 'dataset_id' },
    });
  }
  if (request.dataset_id) return fromDataset(services, request.dataset_id, request);
  if (request.path) return fromFile(services.workspace.resolveUserPath(request.path), request);
  return fromSource(services, request.source!, request);
}

async function fromDataset(services: Services, id: string, request: RowsRequest): Promise<LoadedRows> {
  const record = services.datasets.get(id);
  if (record.task_type !== 'chat') {
    throw new FinetuneError('DATASET_INVALID', `Dataset '${id}' holds ${record.task_type} rows; judge_outputs judges chat rows (the last assistant message is the output).`, {
      recovery: 'Pass a chat dataset version, or a JSONL file of {"input": "...", "output": "..."} rows as path.',
      details: { field: 'dataset_id' },
    });
  }
  const rows: JudgeRow[] = [];
  let truncated = false;
  for await (const { line, row } of services.datasets.rows(id, request.split, request.signal)) {
    if (rows.length >= request.limit) {
      truncated = true;
      break;
    }
    rows.push(fromMessages(rows.length, `line ${line}`, (row as { messages: Message[] }).messages, undefined, null, null));
  }
  return { source: 'dataset', source_ref: request.split ? `${id}/${request.split}` : id, rows, truncated, source_skipped: [] };
}

async function fromFile(path: string, request: RowsRequest): Promise<LoadedRows> {
  const rows: JudgeRow[] = [];
  let truncated = false;
  for await (const raw of readLines(path, { maxLineBytes: MAX_LINE_BYTES, signal: request.signal })) {
    if (raw.too_long) throw lineError(path, raw.line, undefined, `is longer than ${MAX_LINE_BYTES >> 20} MiB`);
    const text = raw.bytes.toString('utf8').trim();
    if (!text) continue;
    if (rows.length >= request.limit) {
      truncated = true;
      break;
    }
    rows.push(parseFileRow(path, raw.line, text, rows.length));
  }
  return { source: 'file', source_ref: path, rows, truncated, source_skipped: [] };
}

export function parseFileRow(path: string, line: number, text: string, position: number): JudgeRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw lineError(path, line, undefined, `is not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw lineError(path, line, undefined, 'is not a JSON object');
  const row = value as Record<string, unknown>;
  const context = readContext(path, line, row.context);
  const spanId = typeof row.span_id === 'string' ? row.span_id : null;
  const traceId = typeof row.trace_id === 'string' ? row.trace_id : null;
  const ref = typeof row.id === 'string' || typeof row.id === 'number' ? `line ${line} (id ${row.id})` : `line ${line}`;
  if (Array.isArray(row.messages)) {
    checkMessages(path, line, 'messages', row.messages);
    return fromMessages(position, ref, row.messages as Message[], context, spanId, traceId);
  }
  if (typeof row.output !== 'string') throw lineError(path, line, 'output', 'has no output (a string) to judge, nor chat messages');
  let input: Message[];
  if (typeof row.input === 'string') input = [{ role: 'user', content: row.input }];
  else if (Array.isArray(row.input)) {
    checkMessages(path, line, 'input', row.input);
    input = row.input as Message[];
  } else throw lineError(path, line, 'input', 'has no input (a string, or a list of {role, content} messages)');
  return fromMessages(position, ref, [...input, { role: 'assistant', content: row.output }], context, spanId, traceId);
}

function readContext(path: string, line: number, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('\n\n');
  throw lineError(path, line, 'context', 'has a context that is not a string or a list of strings');
}

function checkMessages(path: string, line: number, field: string, messages: unknown[]): void {
  const bad = messages.findIndex((m) => !m || typeof m !== 'object' || typeof (m as Message).role !== 'string' || typeof ((m as Message).content ?? '') !== 'string');
  if (bad !== -1) throw lineError(path, line, `${field}[${bad}]`, 'has a message that is not {"role": "...", "content": "..."}');
}

async function fromSource(services: Services, name: string, request: RowsRequest): Promise<LoadedRows> {
  const source = await services.plugins.get('data_source', name);
  const source_skipped: Array<{ ref: string; reason: string }> = [];
  const rows: JudgeRow[] = [];
  let truncated = false;
  for await (const raw of source.extract(request.query ?? {}, (s) => source_skipped.push(s))) {
    request.signal?.throwIfAborted();
    if (rows.length >= request.limit) {
      truncated = true;
      break;
    }
    const meta = (raw.metadata ?? {}) as { span_id?: unknown; trace_id?: unknown };
    const spanId = typeof meta.span_id === 'string' ? meta.span_id : null;
    const messages = Array.isArray(raw.messages) ? (raw.messages as Message[]) : [];
    const context = typeof raw.context === 'string' ? raw.context : undefined;
    rows.push(fromMessages(rows.length, spanId ?? `row ${rows.length + 1}`, messages, context, spanId, typeof meta.trace_id === 'string' ? meta.trace_id : null));
  }
  const project = typeof request.query?.project === 'string' ? `:${request.query.project}` : '';
  return { source: name, source_ref: `${name}${project}`, rows, truncated, source_skipped, data_source: source };
}

/** Splits chat messages into what is judged: the last assistant message, the turns before it, the context. */
function fromMessages(position: number, ref: string, messages: Message[], context: string | undefined, span_id: string | null, trace_id: string | null): JudgeRow {
  const base = { position, ref, span_id, trace_id, row: { messages, ...(context !== undefined ? { context } : {}) } };
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'assistant') { last = i; break; }
  if (last === -1) return { ...base, item: null, unjudgeable: 'no assistant message to judge' };
  const answer = messages[last];
  const output = answer.content?.trim() ? answer.content : answer.tool_calls?.length ? JSON.stringify(answer.tool_calls) : '';
  if (!output) return { ...base, item: null, unjudgeable: 'the last assistant message is empty' };
  const before = messages.slice(0, last);
  const systems = before.filter((m) => m.role === 'system').map((m) => m.content);
  // Without an explicit context the system messages are the context, and are not repeated as turns.
  const ctx = context ?? (systems.length ? systems.join('\n\n') : undefined);
  const input = (context === undefined ? before.filter((m) => m.role !== 'system') : before).map((m) => ({ role: m.role, content: m.content ?? '' }));
  return { ...base, item: { input, output, ...(ctx !== undefined ? { context: ctx } : {}) } };
}

function lineError(file: string, line: number, field: string | undefined, what: string): FinetuneError {
  return new FinetuneError('DATASET_INVALID', `Line ${line} of ${file} ${what}.`, {
    recovery: 'Each line must be one JSON object: {"input": "..." or [{"role": "user", "content": "..."}], "output": "...", "context"?: "..."}, or a chat row {"messages": [...]} whose last assistant message is judged. Fix that line and call judge_outputs again.',
    details: { file, line, ...(field ? { field } : {}) },
  });
}
