import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { FinetuneError, toFinetuneError } from '../errors.js';
import { tempPathFor } from '../workspace/atomic-write.js';
import type { CanonicalRow, ChatMessage, DatasetStore, ChatRow, CompletionRow, PreferenceRow, SplitName, TaskType } from './types.js';
import { HashingFileWriter } from './version-writer.js';

export const EXPORT_FORMATS = ['openai_chat', 'openai_dpo', 'jsonl', 'alpaca', 'sharegpt', 'trl_preference', 'csv'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Task types each format can express without loss. */
const ACCEPTS: Record<ExportFormat, TaskType[]> = {
  openai_chat: ['chat', 'completion'],
  openai_dpo: ['preference'],
  jsonl: ['chat', 'completion', 'preference', 'binary_feedback', 'classification', 'triplet', 'pair', 'scored_pair', 'text'],
  alpaca: ['chat', 'completion'],
  sharegpt: ['chat'],
  trl_preference: ['preference'],
  csv: ['completion', 'classification', 'triplet', 'pair', 'scored_pair', 'text'],
};

export interface ExportOptions {
  format: ExportFormat;
  split?: SplitName;
  /** Absolute path of the file to write (callers resolve user paths first). */
  path: string;
}

export interface ExportResult {
  path: string;
  format: ExportFormat;
  rows: number;
  bytes: number;
  sha256: string;
}

/** Streams a version (or one split) into a file in the chosen format; the file appears whole or not at all. */
export async function exportDataset(service: DatasetStore, id: string, options: ExportOptions, signal?: AbortSignal): Promise<ExportResult> {
  const record = service.get(id);
  const task = record.task_type;
  if (!ACCEPTS[options.format].includes(task)) {
    throw new FinetuneError('INVALID_INPUT', `Format ${options.format} cannot hold ${task} rows.`, {
      recovery: `Use one of: ${EXPORT_FORMATS.filter((f) => ACCEPTS[f].includes(task)).join(', ')}.`,
      details: { field: 'format' },
    });
  }
  // The temp file lies beside the user's target, outside the workspace: noted so a crash's leftover is swept at start.
  const { trackPendingTemp } = await import('../workspace/pending-temps.js');
  const sink = new AtomicSink(options.path, (temp) => trackPendingTemp(service.workspace.root, temp));
  let rows = 0;
  try {
    if (options.format === 'alpaca') sink.write('[\n');
    if (options.format === 'csv') sink.write(`${csvColumns(task).join(',')}\n`);
    for await (const { line, row } of service.rows(id, options.split, signal)) {
      const converted = convert(options.format, task, row, line);
      if (options.format === 'alpaca') sink.write(`${rows ? ',\n' : ''}${JSON.stringify(converted)}`);
      else if (options.format === 'csv') sink.write(`${(converted as string[]).map(csvField).join(',')}\n`);
      else sink.write(`${JSON.stringify(converted)}\n`);
      rows++;
    }
    if (options.format === 'alpaca') sink.write('\n]\n');
    return { path: options.path, format: options.format, rows, ...sink.commit() };
  } catch (error) {
    sink.abort();
    throw error;
  }
}

function convert(format: ExportFormat, task: TaskType, row: CanonicalRow, line: number): unknown {
  const chat = task === 'completion' ? completionAsChat(row as CompletionRow) : (row as ChatRow);
  switch (format) {
    case 'jsonl':
      return row;
    case 'openai_chat':
      return { messages: chat.messages.map(openAiMessage), ...(chat.tools?.length ? { tools: chat.tools } : {}) };
    case 'openai_dpo': {
      const r = row as PreferenceRow;
      return { input: { messages: r.prompt.map(openAiMessage) }, preferred_output: r.chosen.map(openAiMessage), non_preferred_output: r.rejected.map(openAiMessage) };
    }
    case 'trl_preference': {
      const r = row as PreferenceRow;
      return { prompt: r.prompt.map(plainMessage), chosen: r.chosen.map(plainMessage), rejected: r.rejected.map(plainMessage) };
    }
    case 'sharegpt':
      return shareGpt(chat, line);
    case 'alpaca':
      return alpaca(chat, line);
    case 'csv':
      return csvValues(task, row);
  }
}

function completionAsChat(row: CompletionRow): ChatRow {
  return { messages: [{ role: 'user', content: row.prompt }, { role: 'assistant', content: row.completion }] };
}

/** OpenAI's fine-tuning message: content null beside tool calls, weight only where set. */
function openAiMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.tool_calls && m.content === '' ? null : m.content };
  if (m.name) out.name = m.name;
  if (m.tool_calls) out.tool_calls = m.tool_calls;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  if (m.weight !== undefined) out.weight = m.weight;
  return out;
}

function plainMessage(m: ChatMessage): Record<string, unknown> {
  return { role: m.role, content: m.content };
}

const SHAREGPT_FROM: Record<string, string> = { user: 'human', assistant: 'gpt', tool: 'observation', system: 'system' };

function shareGpt(chat: ChatRow, line: number): unknown {
  const [first, ...rest] = chat.messages;
  const system = first?.role === 'system' ? first.content : undefined;
  const conversations = (system !== undefined ? rest : chat.messages).map((m) => {
    if (m.role === 'system') throw notLossless('sharegpt', line, 'a system message after the first turn');
    if (m.tool_calls) {
      const calls = m.tool_calls.map((c) => ({ name: c.function.name, arguments: safeJson(c.function.arguments) }));
      return { from: 'function_call', value: JSON.stringify(calls.length === 1 ? calls[0] : calls) };
    }
    return { from: SHAREGPT_FROM[m.role], value: m.content };
  });
  return { conversations, ...(system !== undefined ? { system } : {}), ...(chat.tools?.length ? { tools: JSON.stringify(chat.tools.map((t) => (t as { function?: unknown }).function ?? t)) } : {}) };
}

/** Alpaca holds one system prompt, user/assistant pairs as history, and a last user → assistant turn. */
function alpaca(chat: ChatRow, line: number): unknown {
  const messages = [...chat.messages];
  const system = messages[0]?.role === 'system' ? messages.shift()!.content : undefined;
  if (messages.length < 2 || messages.length % 2 !== 0) throw notLossless('alpaca', line, 'turns that are not user/assistant pairs');
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < messages.length; i += 2) {
    const [user, assistant] = [messages[i], messages[i + 1]];
    if (user.role !== 'user' || assistant.role !== 'assistant' || user.tool_calls || assistant.tool_calls) throw notLossless('alpaca', line, 'turns that are not user/assistant pairs');
    pairs.push([user.content, assistant.content]);
  }
  const [instruction, output] = pairs.pop()!;
  return { instruction, input: '', output, ...(system !== undefined ? { system } : {}), ...(pairs.length ? { history: pairs } : {}) };
}

function notLossless(format: string, line: number, what: string): FinetuneError {
  return new FinetuneError('INVALID_INPUT', `Row ${line} has ${what}, which ${format} cannot hold.`, { recovery: 'Export as openai_chat or jsonl instead.', details: { field: 'format', line } });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function csvColumns(task: TaskType): string[] {
  const columns = { completion: ['prompt', 'completion'], classification: ['text', 'label'], triplet: ['anchor', 'positive', 'negative'], pair: ['anchor', 'positive'], scored_pair: ['sentence1', 'sentence2', 'score'], text: ['text'] };
  return columns[task as keyof typeof columns];
}

function csvValues(task: TaskType, row: CanonicalRow): string[] {
  const r = row as unknown as Record<string, string | number>;
  // a scored pair's score is the one number among the columns: written as JSON writes it
  return csvColumns(task).map((c) => String(r[c]));
}

/** RFC 4180 quoting. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Writes through a 1 MiB buffer to a temp file beside the target, then renames it into place. */
export class AtomicSink {
  private readonly temp: string;
  private readonly fd: number;
  private readonly out: HashingFileWriter;
  private readonly untrack: () => void;

  constructor(
    private readonly target: string,
    track: (temp: string) => () => void,
  ) {
    this.temp = tempPathFor(target);
    let untrack: (() => void) | undefined;
    try {
      mkdirSync(dirname(target), { recursive: true });
      untrack = track(this.temp);
      this.fd = openSync(this.temp, 'w', 0o644);
    } catch (error) {
      untrack?.();
      const system = toFinetuneError(error); // a full disk is DISK_FULL, a long name INVALID_INPUT
      if (system.code !== 'INTERNAL') throw system;
      throw new FinetuneError('FILE_ERROR', `Cannot write '${target}': ${(error as Error).message}.`, { details: { file: target, field: 'path' } });
    }
    this.untrack = untrack;
    this.out = new HashingFileWriter(this.fd);
  }

  write(text: string): void {
    this.out.write(text);
  }

  commit(): { bytes: number; sha256: string } {
    const sha256 = this.out.digest();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.temp, this.target);
    this.untrack();
    return { bytes: this.out.bytes, sha256 };
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed by commit
    }
    rmSync(this.temp, { force: true });
    this.untrack();
  }
}
