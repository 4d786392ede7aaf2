import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { readUserFile } from '../../workspace/confine.js';
import { writeFileAtomic } from '../../workspace/atomic-write.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson, readLlama2cTokenizer } from './llama2c-tokenizer.js';
import { writeSafetensors, type TensorToWrite } from './safetensors.js';

/**
 * llama2.c checkpoint (version 0 "legacy" export: 7 × int32 header, then float32 arrays) plus its
 * tokenizer.bin → a Hugging Face LlamaForCausalLM folder. The mapping follows karpathy/llama2.c
 * export.py: q/k rows are permuted from interleaved-pair RoPE to transformers' rotate_half RoPE.
 */

interface Llama2cHeader {
  dim: number;
  hidden_dim: number;
  n_layers: number;
  n_heads: number;
  n_kv_heads: number;
  vocab_size: number;
  /** Negative vocab_size in the file: a separate classifier `wcls` is stored at the end. */
  shared_classifier: boolean;
  seq_len: number;
}

interface ConvertLlama2cOptions {
  checkpoint: string;
  tokenizer: string;
  out_dir: string;
}

interface ConvertLlama2cResult {
  header: Llama2cHeader;
  config: Record<string, unknown>;
  files: string[];
}

const HEADER_BYTES = 28;
/** llama2.c version-1/2 exports start with this magic ("ak42") instead of a dim. */
const VERSIONED_MAGIC = 0x616b3432;

/** A checkpoint or tokenizer.bin opened for the tool call: confined to its roots, regular files only (src/workspace/confine.ts). */
function readFile(path: string, field: string): Buffer {
  return readUserFile(path, field);
}

function readLlama2cHeader(bytes: Uint8Array, path: string): Llama2cHeader {
  const fail = (what: string) =>
    new FinetuneError('FILE_ERROR', `${path} is not a llama2.c version-0 checkpoint: ${what}.`, {
      recovery: 'Pass a .bin written by llama2.c export.py --version 0 (legacy), complete, with its tokenizer.bin.',
      details: { file: path },
    });
  if (bytes.length < HEADER_BYTES) throw fail(`only ${bytes.length} bytes, fewer than the 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  if (view.getUint32(0, true) === VERSIONED_MAGIC) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `${path} is a llama2.c version-1/2 export (magic "ak42"); only the version-0 legacy format is supported.`, {
      recovery: 'Re-export with llama2.c export.py --version 0, or import the Hugging Face folder instead.',
      details: { file: path },
    });
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = fields;
  const header: Llama2cHeader = {
    dim,
    hidden_dim: hiddenDim,
    n_layers: nLayers,
    n_heads: nHeads,
    n_kv_heads: nKvHeads,
    vocab_size: Math.abs(vocab),
    shared_classifier: vocab > 0,
    seq_len: seqLen,
  };
  const sane =
    [dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen].every((v) => v > 0 && v < 1 << 20) &&
    vocab !== 0 &&
    Math.abs(vocab) < 1 << 22 &&
    dim % nHeads === 0 &&
    nHeads % nKvHeads === 0 &&
    (dim / nHeads) % 2 === 0;
  if (!sane) throw fail(`implausible header ${JSON.stringify(fields)} (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)`);
  const expected = HEADER_BYTES + 4 * floatCount(header);
  if (bytes.length !== expected) {
    throw fail(`${bytes.length} bytes where the header implies ${expected}${bytes.length < expected ? ' (truncated)' : ''}`);
  }
  return header;
}

function floatCount(h: Llama2cHeader): number {
  const headSize = h.dim / h.n_heads;
  const kvDim = headSize * h.n_kv_heads;
  const perLayer = 2 * h.dim + h.dim * h.dim * 2 + 2 * kvDim * h.dim + 3 * h.hidden_dim * h.dim;
  const freqCis = h.seq_len * headSize;
  return h.vocab_size * h.dim + h.n_layers * perLayer + h.dim + freqCis + (h.shared_classifier ? 0 : h.vocab_size * h.dim);
}

/**
 * export.py `permute_original` inverse direction: rows of each head go from interleaved pairs
 * (2i, 2i+1) to halves (i, i + head_size/2), i.e. view [H, hs/2, 2, in] → [H, 2, hs/2, in].
 */
export function permuteForRotateHalf(data: Float32Array, heads: number, headSize: number, inDim: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headSize / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headSize + i * 2 + j) * inDim;
        const to = (h * headSize + j * half + i) * inDim;
        out.set(data.subarray(from, from + inDim), to);
      }
    }
  }
  return out;
}

/** Reads the float32 arrays in file order and names them as transformers' LlamaForCausalLM does. */
function llama2cWeights(bytes: Uint8Array, h: Llama2cHeader): Map<string, TensorToWrite> {
  // Copy (Uint8Array's slice, not Buffer's view): the pooled Buffer's offset need not be 4-byte aligned.
  const floats = new Float32Array(Uint8Array.prototype.slice.call(bytes, HEADER_BYTES).buffer);
  let at = 0;
  const take = (count: number) => floats.subarray(at, (at += count));
  const headSize = h.dim / h.n_heads;
  const kvDim = headSize * h.n_kv_heads;
  const L = h.n_layers;
  const out = new Map<string, TensorToWrite>();
  const perLayer = (name: string, rows: number, cols: number, source: Float32Array, transform?: (m: Float32Array) => Float32Array) => {
    for (let i = 0; i < L; i++) {
      const slice = source.slice(i * rows * cols, (i + 1) * rows * cols);
      out.set(`model.layers.${i}.${name}`, { shape: cols === 1 ? [rows] : [rows, cols], data: transform ? transform(slice) : slice });
    }
  };
  const embedding = take(h.vocab_size * h.dim).slice();
  out.set('model.embed_tokens.weight', { shape: [h.vocab_size, h.dim], data: embedding });
  perLayer('input_layernorm.weight', h.dim, 1, take(L * h.dim));
  perLayer('self_attn.q_proj.weight', h.dim, h.dim, take(L * h.dim * h.dim), (m) => permuteForRotateHalf(m, h.n_heads, headSize, h.dim));
  perLayer('self_attn.k_proj.weight', kvDim, h.dim, take(L * kvDim * h.dim), (m) => permuteForRotateHalf(m, h.n_kv_heads, headSize, h.dim));
  perLayer('self_attn.v_proj.weight', kvDim, h.dim, take(L * kvDim * h.dim));
  perLayer('self_attn.o_proj.weight', h.dim, h.dim, take(L * h.dim * h.dim));
  perLayer('post_attention_layernorm.weight', h.dim, 1, take(L * h.dim));
  perLayer('mlp.gate_proj.weight', h.hidden_dim, h.dim, take(L * h.hidden_dim * h.dim));
  perLayer('mlp.down_proj.weight', h.dim, h.hidden_dim, take(L * h.dim * h.hidden_dim));
  perLayer('mlp.up_proj.weight', h.hidden_dim, h.dim, take(L * h.hidden_dim * h.dim));
  out.set('model.norm.weight', { shape: [h.dim], data: take(h.dim).slice() });
  take(h.seq_len * headSize); // freq_cis_real + freq_cis_imag: recomputed from rope_theta by the runtime
  if (!h.shared_classifier) out.set('lm_head.weight', { shape: [h.vocab_size, h.dim], data: take(h.vocab_size * h.dim).slice() });
  return out;
}

function llama2cConfig(h: Llama2cHeader): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hidden_dim,
    num_hidden_layers: h.n_layers,
    num_attention_heads: h.n_heads,
    num_key_value_heads: h.n_kv_heads,
    vocab_size: h.vocab_size,
    max_position_embeddings: h.seq_len,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: h.shared_classifier,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/** Converts a llama2.c checkpoint + tokenizer.bin into a Hugging Face folder at `out_dir`. */
export function convertLlama2c(options: ConvertLlama2cOptions): ConvertLlama2cResult {
  const bytes = readFile(options.checkpoint, 'checkpoint');
  const header = readLlama2cHeader(bytes, options.checkpoint);
  const vocab = readLlama2cTokenizer(readFile(options.tokenizer, 'tokenizer'), header.vocab_size, options.tokenizer);
  const weights = llama2cWeights(bytes, header);
  const config = llama2cConfig(header);
  const dir = options.out_dir;
  mkdirSync(dir, { recursive: true });
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  writeSafetensors(join(dir, 'model.safetensors'), weights, { format: 'pt', source: 'llama2.c version 0 export' });
  writeFileAtomic(join(dir, 'config.json'), json(config));
  writeFileAtomic(join(dir, 'tokenizer.json'), json(llama2cTokenizerJson(vocab)));
  writeFileAtomic(join(dir, 'tokenizer_config.json'), json(llama2cTokenizerConfig(header.seq_len)));
  writeFileAtomic(join(dir, 'generation_config.json'), json({ bos_token_id: 1, eos_token_id: 2, max_length: header.seq_len }));
  return { header, config, files: ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] };
}
