import { existsSync } from 'node:fs';
import { FinetuneError } from '../errors.js';
import { readLines } from '../datasets/line-reader.js';
import { datasetRowsPath, lookupDataset } from '../registry/sources.js';
import type { Services } from '../services.js';

/** One evaluation case: what the model is given, and what it should produce. */
export interface EvalCase {
  /** 1-based line of the row in its file, so a result points back at its source. */
  line: number;
  task: 'chat' | 'completion' | 'classification' | 'text' | 'preference' | 'triplet' | 'pair' | 'scored_pair';
  /** Chat turns before the answer (system/user/assistant), for chat models. */
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  /** The same as plain text: a completion prompt, the last user message of a chat, the text to classify. */
  prompt: string;
  /** The expected answer (completion, last assistant message, label, preferred answer); '' for text rows. */
  reference: string;
  /** Full text for perplexity on `text` rows (loss on every token). */
  text?: string;
  /** Triplet rows (anchor = prompt, positive = reference): the hard negative. */
  negative?: string;
  /** Scored pairs (sentence1 = prompt, sentence2 = reference): the gold similarity. */
  score?: number;
}

interface CaseSource {
  dataset_id?: string;
  path?: string;
  split?: 'train' | 'validation' | 'test';
  max_examples?: number;
}

const MAX_LINE_BYTES = 8 << 20;

/** Reads evaluation cases from a dataset version (its test split by default, if it has one) or a JSONL file. */
export async function readCases(services: Services, source: CaseSource, signal?: AbortSignal): Promise<{ cases: EvalCase[]; label: string; task: string; dataset_hash: string | null }> {
  let path: string;
  let label: string;
  let hash: string | null = null;
  if (source.dataset_id) {
    const dataset = lookupDataset(services, source.dataset_id);
    const counts = (dataset.manifest.counts ?? {}) as Record<string, number | undefined>;
    const split = source.split ?? (counts.test ? 'test' : undefined);
    path = datasetRowsPath(services, source.dataset_id, split);
    label = `${source.dataset_id}${split ? `/${split}` : ''}`;
    hash = dataset.content_hash || null;
  } else if (source.path) {
    path = services.workspace.resolveUserPath(source.path, 'path');
    if (!existsSync(path)) throw new FinetuneError('FILE_ERROR', `path '${source.path}' does not exist.`, { details: { field: 'path', file: path } });
    label = path;
  } else {
    throw new FinetuneError('INVALID_INPUT', 'Pass dataset_id (a dataset version) or path (a JSONL file of rows).', { details: { field: 'dataset_id' } });
  }
  const limit = source.max_examples ?? Number.POSITIVE_INFINITY;
  const cases: EvalCase[] = [];
  for await (const raw of readLines(path, { maxLineBytes: MAX_LINE_BYTES, signal })) {
    if (cases.length >= limit) break;
    if (raw.too_long) throw rowError(path, raw.line, `is longer than ${MAX_LINE_BYTES} bytes`);
    const text = raw.bytes.toString('utf8').trim();
    if (!text) continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (error) {
      throw rowError(path, raw.line, `is not valid JSON (${(error as Error).message})`);
    }
    cases.push(toCase(row, raw.line, path));
  }
  if (!cases.length) throw new FinetuneError('DATASET_INVALID', `${label} has no rows to evaluate.`, { details: { file: path } });
  const tasks = new Set(cases.map((c) => c.task));
  if (tasks.size > 1) throw rowError(path, cases.find((c) => c.task !== cases[0].task)!.line, `is a ${[...tasks][1]} row among ${cases[0].task} rows; one file holds one task`);
  return { cases, label, task: cases[0].task, dataset_hash: hash };
}

function rowError(file: string, line: number, what: string): FinetuneError {
  return new FinetuneError('DATASET_INVALID', `Row at ${file}:${line} ${what}.`, {
    recovery: 'Rows must be canonical dataset rows: {prompt, completion}, {messages}, {text, label}, {text}, {prompt, chosen, rejected}, {anchor, positive[, negative]} or {sentence1, sentence2, score}.',
    details: { file, line },
  });
}

type Message = { role: string; content: unknown };

function toCase(row: unknown, line: number, file: string): EvalCase {
  if (!row || typeof row !== 'object') throw rowError(file, line, 'is not a JSON object');
  const r = row as Record<string, unknown>;
  if (typeof r.prompt === 'string' && typeof r.completion === 'string') {
    return { line, task: 'completion', messages: [{ role: 'user', content: r.prompt }], prompt: r.prompt, reference: r.completion };
  }
  if (Array.isArray(r.messages)) {
    const messages = r.messages as Message[];
    const lastAssistant = messages.map((m) => m?.role).lastIndexOf('assistant');
    if (lastAssistant < 1) throw rowError(file, line, 'has no assistant message after a prompt to compare against');
    const before = chatTurns(messages.slice(0, lastAssistant), file, line);
    const lastUser = [...before].reverse().find((m) => m.role === 'user');
    return { line, task: 'chat', messages: before, prompt: lastUser?.content ?? '', reference: String(messages[lastAssistant].content ?? '') };
  }
  if (typeof r.text === 'string' && typeof r.label === 'string') {
    return { line, task: 'classification', messages: [{ role: 'user', content: r.text }], prompt: r.text, reference: r.label };
  }
  if (typeof r.anchor === 'string' && typeof r.positive === 'string' && typeof r.negative === 'string') {
    return { line, task: 'triplet', messages: [], prompt: r.anchor, reference: r.positive, negative: r.negative };
  }
  if (typeof r.anchor === 'string' && typeof r.positive === 'string') return { line, task: 'pair', messages: [], prompt: r.anchor, reference: r.positive };
  if (typeof r.sentence1 === 'string' && typeof r.sentence2 === 'string') {
    if (typeof r.score !== 'number' || !Number.isFinite(r.score)) throw rowError(file, line, 'is a scored pair without a numeric score');
    return { line, task: 'scored_pair', messages: [], prompt: r.sentence1, reference: r.sentence2, score: r.score };
  }
  if (typeof r.text === 'string') return { line, task: 'text', messages: [], prompt: '', reference: '', text: r.text };
  if (r.prompt !== undefined && Array.isArray(r.chosen)) {
    const prompt = Array.isArray(r.prompt) ? chatTurns(r.prompt as Message[], file, line) : [{ role: 'user' as const, content: String(r.prompt) }];
    const chosen = (r.chosen as Message[]).filter((m) => m?.role === 'assistant').pop();
    return { line, task: 'preference', messages: prompt, prompt: [...prompt].reverse().find((m) => m.role === 'user')?.content ?? '', reference: String(chosen?.content ?? '') };
  }
  throw rowError(file, line, `has fields ${Object.keys(r).join(', ') || 'none'}, not a known row shape`);
}

function chatTurns(messages: Message[], file: string, line: number): EvalCase['messages'] {
  return messages
    .filter((m) => m?.role !== 'tool')
    .map((m) => {
      if (m?.role !== 'system' && m?.role !== 'user' && m?.role !== 'assistant') throw rowError(file, line, `has a message with role ${String(m?.role)}`);
      return { role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '') };
    });
}
