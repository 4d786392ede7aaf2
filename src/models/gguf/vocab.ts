import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { readUserJson } from '../../workspace/confine.js';
import type { ArchConfig } from '../files/arch.js';
import type { TextTokenizer } from '../files/tokenizer.js';
import { bool, str, u32, type GgufValue } from './writer.js';

/**
 * tokenizer.json → llama.cpp's tokenizer metadata (gguf.md "Tokenizer"): a SentencePiece-style
 * BPE with byte fallback and `▁` for spaces (Llama 2, llama2.c) becomes tokenizer.ggml.model
 * "llama" with scores; a byte-level BPE (GPT-2, Qwen2, Llama 3) becomes "gpt2" with its merges and
 * the pre-tokenizer name llama.cpp knows it by.
 */

/** llama_token_type: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, user_defined: 4, unused: 5, byte: 6 } as const;

/** llama.cpp's pre-tokenizer names (llama-vocab.cpp) for the byte-level BPE models the engine runs. */
const PRE_TOKENIZER: Record<string, string> = { gpt2: 'gpt-2', qwen2: 'qwen2', llama: 'llama-bpe', smollm: 'smollm' };

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]>; byte_fallback?: boolean };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  pre_tokenizer?: { type?: string; pretokenizers?: Array<{ type?: string }> } | null;
  decoder?: { type?: string; decoders?: Array<{ type?: string }> } | null;
}

const stringArray = (value: readonly string[]): GgufValue => ({ type: 'array', of: 'string', value });

function isByteLevel(json: TokenizerJson): boolean {
  const types = [json.pre_tokenizer?.type, ...(json.pre_tokenizer?.pretokenizers ?? []).map((p) => p.type), json.decoder?.type, ...(json.decoder?.decoders ?? []).map((d) => d.type)];
  return types.includes('ByteLevel');
}

/** The tokenizer metadata for a model folder whose embedding has `vocabRows` rows. */
export function ggufVocabulary(dir: string, tokenizer: TextTokenizer, arch: ArchConfig, vocabRows: number): Map<string, GgufValue> {
  const file = join(dir, 'tokenizer.json');
  const json = readUserJson(file, 'tokenizer') as TokenizerJson;
  const model = json.model;
  const unsupported = (what: string) =>
    new FinetuneError('MODEL_UNSUPPORTED', `The GGUF export cannot write this tokenizer: ${what}. It writes BPE tokenizers, SentencePiece-style (byte fallback, ▁ for spaces) or byte-level.`, {
      recovery: 'Export this model as format "hf" or "onnx" instead.',
      details: { file, field: 'model.type' },
    });
  if (model?.type !== 'BPE' || !model.vocab) throw unsupported(`model.type is ${JSON.stringify(model?.type)}`);
  const byteLevel = isByteLevel(json);
  if (!byteLevel && !model.byte_fallback) throw unsupported('neither byte-level nor byte fallback');

  const tokens: string[] = new Array(vocabRows);
  const types: number[] = new Array(vocabRows).fill(TOKEN_TYPE.normal);
  for (const [piece, id] of Object.entries(model.vocab)) if (id < vocabRows) tokens[id] = piece;
  for (const added of json.added_tokens ?? []) {
    if (added.id >= vocabRows) continue;
    tokens[added.id] = added.content;
    types[added.id] = added.special ? TOKEN_TYPE.control : TOKEN_TYPE.user_defined;
  }
  // Embedding rows past the vocabulary (padded vocabularies) get placeholder tokens, as the converter writes them.
  for (let id = 0; id < vocabRows; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.unused;
    }
  }
  const merges = (model.merges ?? []).map((m) => (Array.isArray(m) ? m : (m.split(' ') as [string, string])));

  const meta = new Map<string, GgufValue>();
  if (byteLevel) {
    const pre = PRE_TOKENIZER[arch.model_type];
    if (!pre) throw unsupported(`no llama.cpp pre-tokenizer is known for a byte-level ${arch.model_type} tokenizer`);
    meta.set('tokenizer.ggml.model', str('gpt2'));
    meta.set('tokenizer.ggml.pre', str(pre));
    meta.set('tokenizer.ggml.tokens', stringArray(tokens));
    meta.set('tokenizer.ggml.token_type', { type: 'array', of: 'int32', value: types });
    meta.set('tokenizer.ggml.merges', stringArray(merges.map(([a, b]) => `${a} ${b}`)));
  } else {
    // SentencePiece merges the adjacent pair whose joined piece scores highest: a piece's score is
    // minus the rank of the first merge that makes it, which replays tokenizer.json's merge order.
    const rank = new Map<string, number>();
    merges.forEach(([a, b], r) => {
      if (!rank.has(a + b)) rank.set(a + b, r);
    });
    const unk = tokenizer.special_tokens.unk_token;
    tokens.forEach((piece, id) => {
      if (types[id] === TOKEN_TYPE.control && piece === unk) types[id] = TOKEN_TYPE.unknown;
      else if (types[id] === TOKEN_TYPE.normal && /^<0x[0-9A-F]{2}>$/.test(piece)) types[id] = TOKEN_TYPE.byte;
    });
    meta.set('tokenizer.ggml.model', str('llama'));
    meta.set('tokenizer.ggml.tokens', stringArray(tokens));
    meta.set('tokenizer.ggml.scores', { type: 'array', of: 'float32', value: tokens.map((piece) => (rank.has(piece) ? -rank.get(piece)! : 0)) });
    meta.set('tokenizer.ggml.token_type', { type: 'array', of: 'int32', value: types });
    const unkId = unk === null ? undefined : tokenizer.tokenToId(unk);
    if (unkId !== undefined) meta.set('tokenizer.ggml.unknown_token_id', u32(unkId));
  }
  const bos = tokenizer.bos_token_id ?? arch.bos_token_id ?? null;
  const eos = tokenizer.eos_token_id ?? arch.eos_token_ids[0] ?? null;
  if (bos !== null) meta.set('tokenizer.ggml.bos_token_id', u32(bos));
  if (eos !== null) meta.set('tokenizer.ggml.eos_token_id', u32(eos));
  if (tokenizer.pad_token_id !== null) meta.set('tokenizer.ggml.padding_token_id', u32(tokenizer.pad_token_id));
  const config = tokenizerConfig(dir);
  meta.set('tokenizer.ggml.add_bos_token', bool(addsBos(tokenizer, config)));
  meta.set('tokenizer.ggml.add_eos_token', bool(config.add_eos_token === true));
  if (tokenizer.chat_template) meta.set('tokenizer.chat_template', str(tokenizer.chat_template));
  return meta;
}

function tokenizerConfig(dir: string): Record<string, unknown> {
  const path = join(dir, 'tokenizer_config.json');
  return existsSync(path) ? (readUserJson(path, 'tokenizer') as Record<string, unknown>) : {};
}

/** Whether encoding adds BOS: tokenizer_config's add_bos_token, else what the tokenizer itself does to "a". */
function addsBos(tokenizer: TextTokenizer, config: Record<string, unknown>): boolean {
  if (typeof config.add_bos_token === 'boolean') return config.add_bos_token;
  return tokenizer.bos_token_id !== null && tokenizer.encode('a')[0] === tokenizer.bos_token_id;
}
