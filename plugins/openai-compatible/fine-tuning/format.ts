import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { FinetuneError, isFinetuneError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/workspace/atomic-write.js';

/** A chat message as OpenAI's fine-tuning files take it (weight only on assistant messages). */
export interface OpenAIChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | null;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  weight?: 0 | 1;
}

/** One line of a supervised file: `{messages, tools?}`. */
interface OpenAISftExample {
  messages: OpenAIChatMessage[];
  tools?: unknown[];
}

/** One line of a DPO file: `{input: {messages}, preferred_output, non_preferred_output}`. */
interface OpenAIDpoExample {
  input: { messages: OpenAIChatMessage[]; tools?: unknown[] };
  preferred_output: OpenAIChatMessage[];
  non_preferred_output: OpenAIChatMessage[];
}

export type OpenAIExample = OpenAISftExample | OpenAIDpoExample;

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function fail(file: string, line: number, field: string, message: string): never {
  throw new FinetuneError('DATASET_INVALID', `${file} line ${line}, field ${field}: ${message}`, { details: { file, line, field } });
}

function messagesOf(value: unknown, file: string, line: number, field: string): OpenAIChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) fail(file, line, field, 'expected a non-empty array of {role, content} messages');
  return value.map((m, i) => {
    const msg = m as Record<string, unknown>;
    if (!msg || typeof msg !== 'object' || !ROLES.has(String(msg.role))) fail(file, line, `${field}[${i}].role`, `role must be one of ${[...ROLES].join(', ')}`);
    if (typeof msg.content !== 'string' && !(msg.role === 'assistant' && Array.isArray(msg.tool_calls))) {
      fail(file, line, `${field}[${i}].content`, 'content must be a string');
    }
    const out: OpenAIChatMessage = { role: msg.role as OpenAIChatMessage['role'], content: (msg.content as string | undefined) ?? null };
    if (typeof msg.name === 'string') out.name = msg.name;
    if (Array.isArray(msg.tool_calls)) out.tool_calls = msg.tool_calls;
    if (typeof msg.tool_call_id === 'string') out.tool_call_id = msg.tool_call_id;
    // OpenAI reads `weight` on assistant messages only; 0 excludes the message from the loss.
    if (msg.role === 'assistant' && (msg.weight === 0 || msg.weight === 1)) out.weight = msg.weight;
    return out;
  });
}

/**
 * One canonical dataset row (see docs/CONVENTIONS.md) as an OpenAI fine-tuning example.
 * SFT takes chat and completion rows; DPO takes preference rows.
 */
function toOpenAIExample(row: unknown, method: 'sft' | 'dpo', file: string, line: number): OpenAIExample {
  if (!row || typeof row !== 'object' || Array.isArray(row)) fail(file, line, '(row)', 'expected a JSON object');
  const r = row as Record<string, unknown>;
  if (method === 'dpo') {
    if (!('chosen' in r) || !('rejected' in r)) fail(file, line, 'chosen', 'DPO needs preference rows {prompt, chosen, rejected}');
    const prompt = typeof r.prompt === 'string' ? [{ role: 'user', content: r.prompt }] : r.prompt;
    const asAssistant = (v: unknown, f: string) =>
      typeof v === 'string' ? [{ role: 'assistant' as const, content: v }] : messagesOf(v, file, line, f);
    const example: OpenAIDpoExample = {
      input: { messages: messagesOf(prompt, file, line, 'prompt') },
      preferred_output: asAssistant(r.chosen, 'chosen'),
      non_preferred_output: asAssistant(r.rejected, 'rejected'),
    };
    if (Array.isArray(r.tools)) example.input.tools = r.tools;
    return example;
  }
  if ('messages' in r) {
    const messages = messagesOf(r.messages, file, line, 'messages');
    if (!messages.some((m) => m.role === 'assistant')) fail(file, line, 'messages', 'a supervised example needs at least one assistant message');
    return Array.isArray(r.tools) ? { messages, tools: r.tools } : { messages };
  }
  if (typeof r.prompt === 'string' && typeof r.completion === 'string') {
    return { messages: [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion }] };
  }
  return fail(file, line, '(row)', `rows of this shape cannot be trained on OpenAI with ${method}; expected chat {messages} or completion {prompt, completion}`);
}

/** The messages whose tokens OpenAI bills for one example (the input plus both answers for DPO). */
export function billedMessages(example: OpenAIExample): OpenAIChatMessage[] {
  return 'messages' in example ? example.messages : [...example.input.messages, ...example.preferred_output, ...example.non_preferred_output];
}

/** Streams canonical rows from a JSONL file, with 1-based line numbers; blank lines are skipped. */
async function* readJsonl(path: string): AsyncGenerator<{ line: number; value: unknown }> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (!text.trim()) continue;
    try {
      yield { line, value: JSON.parse(text) };
    } catch (error) {
      throw new FinetuneError('DATASET_INVALID', `${path} line ${line}: not valid JSON (${(error as Error).message})`, { details: { file: path, line } });
    }
  }
}

/**
 * Converts a canonical split into OpenAI's JSONL at `target` (written atomically) and returns
 * the examples for the token count.
 */
export async function writeOpenAIFile(source: string, target: string, method: 'sft' | 'dpo'): Promise<OpenAIExample[]> {
  const examples = await convertSplit(source, method);
  writeFileAtomic(target, examples.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return examples;
}

/** A canonical split as OpenAI examples, in memory (validation and estimates write nothing). */
export async function convertSplit(source: string, method: 'sft' | 'dpo'): Promise<OpenAIExample[]> {
  const examples: OpenAIExample[] = [];
  for await (const { line, value } of readJsonl(source)) examples.push(toOpenAIExample(value, method, source, line));
  return examples;
}

/**
 * An upstream refusal that names a line of a converted file, pointed back at the dataset row it
 * came from (converted files keep the source order; blank source lines are skipped).
 */
export function locateInSource(error: unknown, convertedPath: string, sourcePath: string): unknown {
  if (!isFinetuneError(error) || error.code !== 'DATASET_INVALID' || typeof error.details.line !== 'number') return error;
  const wanted = error.details.line;
  let seen = 0;
  let sourceLine: number | undefined;
  readFileSync(sourcePath, 'utf8')
    .split('\n')
    .some((text, index) => (text.trim() && ++seen === wanted ? ((sourceLine = index + 1), true) : false));
  if (sourceLine === undefined) return error;
  return new FinetuneError('DATASET_INVALID', `${error.message} — that is ${sourcePath} line ${sourceLine} (converted file ${convertedPath} line ${wanted}).`, {
    details: { ...error.details, file: sourcePath, line: sourceLine, converted_file: convertedPath, converted_line: wanted },
    cause: error,
  });
}
