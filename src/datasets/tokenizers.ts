import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkTokenizerJson } from '../models/files/tokenizer-check.js';
import { FinetuneError } from '../errors.js';
import { readUserJson } from '../workspace/confine.js';
import { checkTemplate, renderTemplate, TemplateError } from './jinja-sandbox.js';
import { OffThreadCounter } from './token-count-worker.js';
import type { ChatMessage } from './types.js';

/** A tokenizer for counting: the real one of the target model. */
export interface TokenCounter {
  /** e.g. "o200k_base" or "tokenizer.json:/path/to/model". */
  name: string;
  kind: 'openai' | 'local';
  /** Tokens per training example the target accepts, when known. */
  context_limit?: number;
  /** Strings that are special tokens of this tokenizer; they must not appear in content. */
  special_tokens: string[];
  count(text: string): number;
  /** Tokens of a whole conversation as the target formats it. */
  countChat(messages: ChatMessage[], tools?: unknown[]): number;
  /**
   * Runs `measure` (which counts with this counter) with every text it counts counted in a worker
   * thread first, so a long example never holds the event loop; same result as `measure()`.
   * Tokenizers too slow for the main thread on long texts have it (Hugging Face's, ~2 s a 1 MB row).
   */
  countAside?<T>(measure: () => T): Promise<T>;
}

type OpenAiEncoding = 'o200k_base' | 'cl100k_base';

/**
 * OpenAI fine-tunable models: encoding and the training context (tokens per example), from
 * OpenAI's fine-tuning guide. Longest prefix wins.
 */
const OPENAI_MODELS: Array<{ prefix: string; encoding: OpenAiEncoding; context: number }> = [
  { prefix: 'gpt-4.1', encoding: 'o200k_base', context: 65_536 },
  { prefix: 'gpt-4o-mini', encoding: 'o200k_base', context: 65_536 },
  { prefix: 'gpt-4o', encoding: 'o200k_base', context: 65_536 },
  { prefix: 'o4-mini', encoding: 'o200k_base', context: 65_536 },
  { prefix: 'gpt-3.5-turbo', encoding: 'cl100k_base', context: 16_385 },
  { prefix: 'gpt-4', encoding: 'cl100k_base', context: 8_192 },
  { prefix: 'davinci-002', encoding: 'cl100k_base', context: 16_384 },
  { prefix: 'babbage-002', encoding: 'cl100k_base', context: 16_384 },
];

const OPENAI_SPECIAL = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|endofprompt|>', '<|im_start|>', '<|im_end|>', '<|im_sep|>'];

export function openAiModel(model: string): { encoding: OpenAiEncoding; context: number } | undefined {
  const name = model.replace(/^ft:/, '');
  return [...OPENAI_MODELS].sort((a, b) => b.prefix.length - a.prefix.length).find((m) => name === m.prefix || name.startsWith(`${m.prefix}-`) || name.startsWith(`${m.prefix}:`));
}

/**
 * Longest run of non-space (or of space) characters counted in one piece. BPE costs the square of a
 * piece's length (a 1 MB word took over 200 s and held the event loop), and a pre-tokenizer piece is at
 * most one such run plus one character; longer runs are counted in chunks of this length, as tiktoken
 * bounds its pieces, off by at most a token a chunk. Text without such a run counts exactly as before.
 */
export const MAX_PIECE_CHARS = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_PIECE_CHARS + 1},}|\\s{${MAX_PIECE_CHARS + 1},}`, 'g');

/** The pieces linearCount counts `text` in: the text whole, or split before and inside its long runs. */
function linearPieces(text: string): string[] {
  if (text.length <= MAX_PIECE_CHARS) return [text];
  const pieces: string[] = [];
  let from = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    const start = match.index;
    const end = start + match[0].length;
    // The run's first chunk stays with the text before it (a leading space joins its piece as usual).
    pieces.push(text.slice(from, start + MAX_PIECE_CHARS));
    for (let at = start + MAX_PIECE_CHARS; at < end; at += MAX_PIECE_CHARS) pieces.push(text.slice(at, Math.min(at + MAX_PIECE_CHARS, end)));
    from = end;
  }
  if (from === 0) return [text];
  if (from < text.length) pieces.push(text.slice(from));
  return pieces;
}

/** `count` made linear in the length of a run: long runs go through it in MAX_PIECE_CHARS chunks. */
export function linearCount(count: (text: string) => number): (text: string) => number {
  return (text) => {
    if (text.length <= MAX_PIECE_CHARS) return count(text);
    let total = 0;
    for (const piece of linearPieces(text)) total += count(piece);
    return total;
  };
}

const encodingCache = new Map<OpenAiEncoding, (text: string) => number>();

/**
 * A counter for the encoding that loads it on the first count: loading o200k costs ~70 MB of RSS, and
 * a file none of whose rows is counted (a JSON array of `{}`) need not pay it (issue 13: 354 MB
 * against 256 MB without token counting). The CommonJS build is required synchronously; it is the
 * same code and data as the ES module, so the counts are the same.
 */
function loadEncoding(encoding: OpenAiEncoding): (text: string) => number {
  const cached = encodingCache.get(encoding);
  if (cached) return cached;
  let loaded: ((text: string) => number) | undefined;
  const count = (text: string) => {
    if (!loaded) {
      const mod = createRequire(import.meta.url)(`gpt-tokenizer/cjs/encoding/${encoding}`) as typeof import('gpt-tokenizer/encoding/o200k_base');
      // Special-token strings inside content are ordinary text to the fine-tuning API (tiktoken's encode_ordinary).
      const noSpecial = { disallowedSpecial: new Set<string>() };
      loaded = linearCount((t) => mod.countTokens(t, noSpecial));
    }
    return loaded(text);
  };
  encodingCache.set(encoding, count);
  return count;
}

/**
 * The counting of OpenAI's chat fine-tuning data-prep notebook: 3 tokens per message, the tokens of
 * every string field (role, content, name; tool calls as their JSON), 1 more for a name, 3 to prime the reply.
 */
export function chatTokensOpenAi(count: (text: string) => number, messages: ChatMessage[], tools?: unknown[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + count(m.role) + count(m.content);
    if (m.name) total += count(m.name) + 1;
    if (m.tool_calls) total += count(JSON.stringify(m.tool_calls));
    if (m.tool_call_id) total += count(m.tool_call_id);
  }
  if (tools?.length) total += count(JSON.stringify(tools));
  return total;
}

export async function openAiCounter(spec: string): Promise<TokenCounter> {
  const model = spec === 'o200k_base' || spec === 'cl100k_base' ? { encoding: spec as OpenAiEncoding, context: undefined } : openAiModel(spec);
  if (!model) throw new FinetuneError('INVALID_INPUT', `Unknown OpenAI model '${spec}'.`, { details: { field: 'model' } });
  const count = loadEncoding(model.encoding);
  return {
    name: model.encoding,
    kind: 'openai',
    context_limit: model.context,
    special_tokens: OPENAI_SPECIAL,
    count,
    countChat: (messages, tools) => chatTokensOpenAi(count, messages, tools),
  };
}

interface HfTokenizerFile {
  added_tokens?: Array<{ content: string; special?: boolean }>;
}

/** A Hugging Face tokenizer.json (and tokenizer_config.json's chat template) in a model folder. */
export async function localCounter(dir: string, contextLimit?: number): Promise<TokenCounter> {
  if (!existsSync(dir)) {
    throw new FinetuneError('FILE_ERROR', `No model folder or tokenizer.json at '${dir}'.`, {
      recovery: 'Point `model` at a model id (mdl_…), an OpenAI model or encoding name, or a folder holding tokenizer.json.',
      details: { file: dir, field: 'model' },
    });
  }
  const file = statSync(dir).isDirectory() ? join(dir, 'tokenizer.json') : dir;
  const folder = file === dir ? join(dir, '..') : dir;
  if (!existsSync(file)) {
    throw new FinetuneError('FILE_ERROR', `No tokenizer.json in '${dir}'.`, { recovery: 'Point `model` at a model id or a folder holding tokenizer.json.', details: { file, field: 'model' } });
  }
  // Files beside the `model` path are confined like it (a link to outside the roots is refused); errors show no content.
  const json = readUserJson(file, 'model') as HfTokenizerFile;
  checkTokenizerJson(json as Record<string, unknown>, file);
  const configPath = join(folder, 'tokenizer_config.json');
  const config = existsSync(configPath) ? (readUserJson(configPath, 'model') as Record<string, unknown>) : {};
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let tokenizer: InstanceType<typeof Tokenizer>;
  let specialTokens: string[];
  try {
    tokenizer = new Tokenizer(json, config);
    tokenizer.encode('a b', { add_special_tokens: false });
    specialTokens = (json.added_tokens ?? []).filter((t) => t.special && t.content.length > 1).map((t) => t.content);
  } catch (error) {
    // A JSON file that is not a tokenizer (or one the library cannot build) is the user's file, not a bug.
    throw new FinetuneError('MODEL_UNSUPPORTED', `'${file}' is not a tokenizer.json this server can load: ${(error as Error).message}.`, {
      recovery: 'Point `model` at a model id (mdl_…), an OpenAI model or encoding name, or a folder holding a Hugging Face tokenizer.json.',
      details: { file, field: 'model' },
    });
  }
  const exact = linearCount((text) => tokenizer.encode(text, { add_special_tokens: false }).ids.length);
  const worker = new OffThreadCounter({ json, config, file }, linearPieces);
  // countAside: a first run of `measure` records the texts it counts (a chat template is rendered as
  // usual), the worker counts them, and a second run finds every count here.
  const aside = new Map<string, number>();
  let recording: string[] | undefined;
  const count = (text: string) => {
    if (recording) {
      recording.push(text);
      return 0;
    }
    return (aside.size ? aside.get(text) : undefined) ?? exact(text);
  };
  const countAside = async <T>(measure: () => T): Promise<T> => {
    const recorded: string[] = (recording = []);
    try {
      measure();
    } finally {
      recording = undefined;
    }
    // A chat's contents are counted twice (by role, then framed): the worker counts each once.
    const texts = [...new Set(recorded)];
    const counts = await worker.count(texts);
    for (let i = 0; i < texts.length; i++) aside.set(texts[i], counts[i]);
    try {
      return measure();
    } finally {
      aside.clear();
    }
  };
  const template = typeof config.chat_template === 'string' ? config.chat_template : undefined;
  const render = template ? await chatRenderer(template, config) : undefined;
  const modelMax = typeof config.model_max_length === 'number' && config.model_max_length < 1e9 ? config.model_max_length : undefined;
  return {
    name: `tokenizer.json:${folder}`,
    kind: 'local',
    context_limit: contextLimit ?? modelMax,
    special_tokens: specialTokens,
    count,
    // With a chat template, count what the model really sees; without one, content plus 4 tokens a message for the framing.
    countChat: (messages, tools) =>
      render ? count(render(messages, tools)) : messages.reduce((n, m) => n + 4 + count(m.content), 0),
    countAside,
  };
}

/**
 * Renders a chat with a model's Jinja chat template, in the template sandbox (a worker with a heap
 * limit and a deadline): a syntax error or a template's own refusal is INVALID_INPUT naming chat_template.
 */
export async function chatRenderer(template: string, config: Record<string, unknown> = {}): Promise<(messages: ChatMessage[], tools?: unknown[], addGenerationPrompt?: boolean) => string> {
  const refused = (error: unknown) => {
    if (!(error instanceof TemplateError)) return error;
    const what = error.phase === 'parse' ? 'does not parse' : 'failed on a row';
    return new FinetuneError('INVALID_INPUT', `The chat template ${what}: ${error.message}`, { recovery: 'Fix the template, or use the one in the model\'s tokenizer_config.json.', details: { field: 'chat_template' } });
  };
  try {
    checkTemplate(template);
  } catch (error) {
    throw refused(error);
  }
  const tokenText = (v: unknown) => (typeof v === 'string' ? v : v && typeof v === 'object' && 'content' in v ? String((v as { content: unknown }).content) : '');
  const context = { bos_token: tokenText(config.bos_token), eos_token: tokenText(config.eos_token) };
  return (messages, tools, addGenerationPrompt = false) => {
    try {
      return renderTemplate(template, { ...context, messages, tools, add_generation_prompt: addGenerationPrompt });
    } catch (error) {
      throw refused(error);
    }
  };
}
