import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Tokenizer } from '@huggingface/tokenizers';
import { renderTemplate, TemplateError } from '../../datasets/jinja-sandbox.js';
import { FinetuneError } from '../../errors.js';
import { checkTokenizerJson } from './tokenizer-check.js';
import { readUserFile, readUserJson } from '../../workspace/confine.js';

/**
 * A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers,
 * with its special tokens and chat template (rendered by @huggingface/jinja in the template sandbox).
 */

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

interface SpecialTokens {
  bos_token: string | null;
  eos_token: string | null;
  pad_token: string | null;
  unk_token: string | null;
}

type Json = Record<string, unknown>;

/** tokenizer_config.json writes a special token as a string or as an AddedToken object {content}. */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return null;
}

/** A tokenizer file opened for the tool call: confined to its roots, regular files only; a parse error shows no content. */
function readJson(path: string): Json {
  return readUserJson(path, 'tokenizer') as Json;
}

/** The chat template: tokenizer_config.json `chat_template` (string, or named list → "default"), else chat_template.jinja. */
function findChatTemplate(dir: string, config: Json): string | undefined {
  const value = config.chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as Array<{ name?: string; template?: string }>;
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  const jinjaFile = join(dir, 'chat_template.jinja');
  return existsSync(jinjaFile) ? readUserFile(jinjaFile, 'chat_template', 'utf8') : undefined;
}

const require = createRequire(import.meta.url);

/**
 * The tokenizer engine loads with the first tokenizer, not at start-up; its CommonJS build keeps
 * loadTokenizer synchronous. Chat templates render in the template sandbox (src/datasets/jinja-sandbox.ts).
 */
function huggingFace(): { Tokenizer: typeof Tokenizer } {
  return { Tokenizer: (require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers')).Tokenizer };
}

export class TextTokenizer {
  readonly dir: string;
  readonly special_tokens: SpecialTokens;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  readonly pad_token_id: number | null;
  readonly chat_template?: string;
  readonly vocab_size: number;
  private readonly inner: Tokenizer;

  constructor(dir: string, tokenizerJson: Json, tokenizerConfig: Json) {
    this.dir = dir;
    checkTokenizerJson(tokenizerJson, join(dir, 'tokenizer.json'));
    try {
      this.inner = new (huggingFace().Tokenizer)(tokenizerJson, tokenizerConfig);
    } catch (error) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `tokenizer.json in ${dir} cannot be loaded: ${(error as Error).message}`, {
        recovery: 'Use a tokenizer.json written by Hugging Face tokenizers (BPE, Unigram or WordPiece).',
        details: { file: join(dir, 'tokenizer.json') },
      });
    }
    this.special_tokens = {
      bos_token: tokenContent(tokenizerConfig.bos_token),
      eos_token: tokenContent(tokenizerConfig.eos_token),
      pad_token: tokenContent(tokenizerConfig.pad_token),
      unk_token: tokenContent(tokenizerConfig.unk_token),
    };
    const id = (token: string | null) => (token === null ? null : (this.inner.token_to_id(token) ?? null));
    this.bos_token_id = id(this.special_tokens.bos_token);
    this.eos_token_id = id(this.special_tokens.eos_token);
    this.pad_token_id = id(this.special_tokens.pad_token);
    this.chat_template = findChatTemplate(dir, tokenizerConfig);
    this.vocab_size = this.inner.get_vocab(true).size;
  }

  encode(text: string, options: { add_special_tokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.add_special_tokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { skip_special_tokens?: boolean } = {}): string {
    return this.inner.decode([...ids], { skip_special_tokens: options.skip_special_tokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Renders the chat template as transformers' apply_chat_template(tokenize=False) does. */
  applyChatTemplate(messages: readonly ChatMessage[], options: { add_generation_prompt?: boolean; tools?: unknown[] } = {}): string {
    if (!this.chat_template) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `The tokenizer in ${this.dir} has no chat template.`, {
        recovery: 'Pass a plain prompt instead of messages, or use a model whose tokenizer_config.json has chat_template.',
        details: { file: join(this.dir, 'tokenizer_config.json'), field: 'chat_template' },
      });
    }
    const file = join(this.dir, 'tokenizer_config.json');
    try {
      return renderTemplate(this.chat_template, {
        messages,
        add_generation_prompt: options.add_generation_prompt ?? false,
        ...(options.tools ? { tools: options.tools } : {}),
        bos_token: this.special_tokens.bos_token ?? '',
        eos_token: this.special_tokens.eos_token ?? '',
        pad_token: this.special_tokens.pad_token ?? '',
        unk_token: this.special_tokens.unk_token ?? '',
      });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error; // out of bounds: INVALID_INPUT from the sandbox
      if (error.phase === 'parse') {
        throw new FinetuneError('MODEL_UNSUPPORTED', `The chat template in ${this.dir} does not parse: ${error.message}`, { details: { file, field: 'chat_template' } });
      }
      // Templates refuse messages they cannot render (raise_exception), e.g. roles out of order.
      throw new FinetuneError('INVALID_INPUT', `The chat template of ${this.dir} refused the messages: ${error.message}`, {
        recovery: 'Reorder or fix the messages as the template requires (e.g. alternate user/assistant, system first).',
        details: { field: 'messages' },
      });
    }
  }
}

const cache = new Map<string, { mtimeMs: number; tokenizer: TextTokenizer }>();

/** Loads (once per folder and tokenizer.json mtime) the tokenizer of a Hugging Face model folder. */
export function loadTokenizer(dir: string): TextTokenizer {
  const folder = resolve(dir);
  const jsonPath = join(folder, 'tokenizer.json');
  if (!existsSync(jsonPath)) {
    throw new FinetuneError('FILE_ERROR', `${folder} has no tokenizer.json.`, {
      recovery: 'Add the tokenizer.json of this model (Hugging Face tokenizers format) to the folder.',
      details: { file: jsonPath },
    });
  }
  const mtimeMs = statSync(jsonPath).mtimeMs;
  const hit = cache.get(folder);
  if (hit && hit.mtimeMs === mtimeMs) return hit.tokenizer;
  const configPath = join(folder, 'tokenizer_config.json');
  const tokenizer = new TextTokenizer(folder, readJson(jsonPath), existsSync(configPath) ? readJson(configPath) : {});
  cache.set(folder, { mtimeMs, tokenizer });
  return tokenizer;
}
