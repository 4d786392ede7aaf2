import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/models/files/safetensors.js';
import { randomLlama } from '../engine/helpers/random-model.js';

/**
 * Small random Hugging Face folders for tests: a GPT-2 (Conv1D [in, out] weights, byte-level BPE
 * tokenizer) and a Llama-family one (qwen2 gives q/k/v biases). Weights are seeded, not trained.
 */

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1) * 0.1;
}

function tensor(shape: number[], rand: () => number, fill?: number): TensorToWrite {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => fill ?? rand()) };
}

/** GPT-2's bytes_to_unicode table (openai/gpt-2 encoder.py): printable bytes map to themselves, others to 256+. */
export function bytesToUnicode(): string[] {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable.has(b) ? b : 256 + extra++);
  return table;
}

/** A byte-level BPE tokenizer.json: 256 byte symbols, a few merges, <|endoftext|> last. */
export function byteLevelTokenizerJson(merges: Array<[string, string]>): { json: Record<string, unknown>; vocabSize: number; eos: number } {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((c, i) => (vocab[c] = i));
  for (const [a, b] of merges) vocab[a + b] ??= Object.keys(vocab).length;
  const eos = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  return { json, vocabSize: eos + 1, eos };
}

export function writeTinyGpt2Folder(dir: string, options: { d?: number; layers?: number; heads?: number; positions?: number; seed?: number } = {}): void {
  const d = options.d ?? 16;
  const L = options.layers ?? 2;
  const rand = seeded(options.seed ?? 1);
  const { json, vocabSize, eos } = byteLevelTokenizerJson([['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n']]);
  const positions = options.positions ?? 32;
  const w = new Map<string, TensorToWrite>([
    ['wte.weight', tensor([vocabSize, d], rand)],
    ['wpe.weight', tensor([positions, d], rand)],
    ['ln_f.weight', tensor([d], rand, 1)],
    ['ln_f.bias', tensor([d], rand)],
  ]);
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    w.set(`${p}ln_1.weight`, tensor([d], rand, 1));
    w.set(`${p}ln_1.bias`, tensor([d], rand));
    w.set(`${p}attn.c_attn.weight`, tensor([d, 3 * d], rand)); // Conv1D: [in, out]
    w.set(`${p}attn.c_attn.bias`, tensor([3 * d], rand));
    w.set(`${p}attn.c_proj.weight`, tensor([d, d], rand));
    w.set(`${p}attn.c_proj.bias`, tensor([d], rand));
    w.set(`${p}ln_2.weight`, tensor([d], rand, 1));
    w.set(`${p}ln_2.bias`, tensor([d], rand));
    w.set(`${p}mlp.c_fc.weight`, tensor([d, 4 * d], rand));
    w.set(`${p}mlp.c_fc.bias`, tensor([4 * d], rand));
    w.set(`${p}mlp.c_proj.weight`, tensor([4 * d, d], rand));
    w.set(`${p}mlp.c_proj.bias`, tensor([d], rand));
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), w, { format: 'pt' });
  const config = {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new', n_embd: d, n_layer: L,
    n_head: options.heads ?? 4, n_positions: positions, n_ctx: positions, layer_norm_epsilon: 1e-5, vocab_size: vocabSize,
    bos_token_id: eos, eos_token_id: eos, tie_word_embeddings: true,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: positions, add_prefix_space: false, clean_up_tokenization_spaces: false }));
}

/** Qwen2's ChatML chat template (the form without tools). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A Llama-family folder: seeded weights, a byte-level BPE tokenizer and a ChatML template. */
export function writeLlamaFamilyFolder(dir: string, options: { modelType: string; qkvBias: boolean; tied: boolean; ropeScaling?: Record<string, unknown>; chatTemplate?: string }): void {
  const { json, vocabSize, eos } = byteLevelTokenizerJson([['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n']]);
  const model = randomLlama({ vocab: vocabSize, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 64, tied: options.tied, qkvBias: options.qkvBias, modelType: options.modelType, ropeScaling: options.ropeScaling }, 7);
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), model.weights, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...model.config, bos_token_id: eos, eos_token_id: eos }));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: null, eos_token: '<|endoftext|>', chat_template: options.chatTemplate ?? CHATML_TEMPLATE, add_bos_token: false }));
}

