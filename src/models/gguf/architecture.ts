import { FinetuneError } from '../../errors.js';
import type { ArchConfig } from '../files/arch.js';
import type { WeightTensor } from '../files/load-model.js';
import { checkQuantizable, type GgmlType } from './quantize.js';
import { f32, str, u32, type GgufTensor, type GgufValue } from './writer.js';

/**
 * Hugging Face weights → llama.cpp's architecture metadata and tensor names, as llama.cpp's
 * convert_hf_to_gguf.py writes them for LlamaForCausalLM ("llama"), Qwen2ForCausalLM ("qwen2") and
 * GPT2LMHeadModel ("gpt2").
 */

/** The model types the GGUF export writes, by llama.cpp architecture. */
const GGUF_ARCHITECTURES: Record<string, string> = { llama: 'llama', mistral: 'llama', smollm: 'llama', tinyllama: 'llama', qwen2: 'qwen2', gpt2: 'gpt2' };

/** GPT-2 layer tensors: llama.cpp name → Hugging Face name (matrices are Conv1D [in, out], transposed on the way). */
const GPT2_LAYER_TENSORS = [
  ['attn_norm.weight', 'ln_1.weight'],
  ['attn_norm.bias', 'ln_1.bias'],
  ['attn_qkv.weight', 'attn.c_attn.weight'],
  ['attn_qkv.bias', 'attn.c_attn.bias'],
  ['attn_output.weight', 'attn.c_proj.weight'],
  ['attn_output.bias', 'attn.c_proj.bias'],
  ['ffn_norm.weight', 'ln_2.weight'],
  ['ffn_norm.bias', 'ln_2.bias'],
  ['ffn_up.weight', 'mlp.c_fc.weight'],
  ['ffn_up.bias', 'mlp.c_fc.bias'],
  ['ffn_down.weight', 'mlp.c_proj.weight'],
  ['ffn_down.bias', 'mlp.c_proj.bias'],
] as const;

/** What to write tensors as: `type` for matrices, f32 for vectors (norms, biases), as the converter does. */
export interface TypePlan {
  type: GgmlType;
  /** For q8_0: what a matrix with rows not a multiple of 32 is stored as, or 'error' to refuse. */
  fallback: 'error' | 'f16' | 'f32';
  /** The input field the fallback is set by, for the error's location. */
  fallback_field: string;
}

/** general.file_type (llama_ftype): all F32 0, mostly F16 1, mostly Q8_0 7. */
const FILE_TYPE: Record<GgmlType, number> = { f32: 0, f16: 1, q8_0: 7 };

function ggufArchitecture(arch: ArchConfig): string {
  const name = GGUF_ARCHITECTURES[arch.model_type];
  if (!name) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `The GGUF export does not write model_type "${arch.model_type}"; it writes ${Object.keys(GGUF_ARCHITECTURES).join(', ')}.`, {
      recovery: 'Export this model as format "onnx" or "hf" instead.',
      details: { field: 'format' },
    });
  }
  return name;
}

/**
 * convert_hf_to_gguf.py LlamaModel.permute: transformers' rotate-half Q/K rows ([H, 2, hs/2, in])
 * back to the interleaved pairs ([H, hs/2, 2, in]) that llama.cpp's "llama" RoPE rotates.
 */
function permuteForLlamaCpp(data: Float32Array, heads: number, headSize: number, inDim: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headSize / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * headSize + j * half + i) * inDim;
        const to = (h * headSize + i * 2 + j) * inDim;
        out.set(data.subarray(from, from + inDim), to);
      }
    }
  }
  return out;
}

function transpose(t: WeightTensor): WeightTensor {
  const [rows, cols] = t.shape;
  const data = new Float32Array(t.data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data };
}

/** llama3 rope scaling: per-frequency factors in rope_freqs.weight, computed as the converter does. */
function llama3RopeFactors(arch: ArchConfig): Float32Array {
  const scaling = arch.rope_scaling!;
  const dim = arch.head_dim;
  const factor = scaling.factor;
  const low = scaling.low_freq_factor ?? 1;
  const high = scaling.high_freq_factor ?? 4;
  const oldContext = scaling.original_max_position_embeddings ?? 8192;
  const factors = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = 1 / Math.pow(arch.rope_theta, (2 * i) / dim);
    const wavelength = (2 * Math.PI) / freq;
    if (wavelength < oldContext / high) factors[i] = 1;
    else if (wavelength > oldContext / low) factors[i] = factor;
    else {
      const smooth = (oldContext / wavelength - low) / (high - low);
      factors[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return factors;
}

function architectureMetadata(arch: ArchConfig, name: string): Map<string, GgufValue> {
  const meta = new Map<string, GgufValue>();
  meta.set(`${name}.context_length`, u32(arch.max_positions));
  meta.set(`${name}.embedding_length`, u32(arch.hidden_size));
  meta.set(`${name}.feed_forward_length`, u32(arch.intermediate_size));
  meta.set(`${name}.block_count`, u32(arch.num_layers));
  meta.set(`${name}.attention.head_count`, u32(arch.num_heads));
  if (arch.family === 'gpt2') {
    meta.set(`${name}.attention.layer_norm_epsilon`, f32(arch.norm_eps));
    return meta;
  }
  if (arch.mlp_bias) {
    throw new FinetuneError('MODEL_UNSUPPORTED', 'mlp_bias true is not written by the GGUF export: llama.cpp\'s llama and qwen2 MLPs have no biases.', {
      recovery: 'Export this model as format "onnx" or "hf" instead.',
      details: { file: 'config.json', field: 'mlp_bias' },
    });
  }
  meta.set(`${name}.attention.head_count_kv`, u32(arch.num_kv_heads));
  meta.set(`${name}.attention.layer_norm_rms_epsilon`, f32(arch.norm_eps));
  meta.set(`${name}.rope.freq_base`, f32(arch.rope_theta));
  meta.set(`${name}.rope.dimension_count`, u32(arch.head_dim));
  if (arch.head_dim * arch.num_heads !== arch.hidden_size) {
    meta.set(`${name}.attention.key_length`, u32(arch.head_dim));
    meta.set(`${name}.attention.value_length`, u32(arch.head_dim));
  }
  const scaling = arch.rope_scaling;
  if (scaling?.rope_type === 'linear') {
    meta.set(`${name}.rope.scaling.type`, str('linear'));
    meta.set(`${name}.rope.scaling.factor`, f32(scaling.factor));
  } else if (scaling?.rope_type === 'dynamic') {
    throw new FinetuneError('MODEL_UNSUPPORTED', 'rope_scaling "dynamic" has no llama.cpp equivalent; the GGUF export writes linear and llama3 scaling.', {
      recovery: 'Export this model as format "onnx" or "hf" instead.',
      details: { file: 'config.json', field: 'rope_scaling' },
    });
  }
  if (arch.sliding_window !== null && arch.sliding_window < arch.max_positions) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `sliding_window ${arch.sliding_window} (below the context of ${arch.max_positions}) is not written by the GGUF export: llama.cpp's "${name}" attends to the whole context.`, {
      recovery: 'Export this model as format "onnx" or "hf" instead.',
      details: { file: 'config.json', field: 'sliding_window' },
    });
  }
  return meta;
}

/** The GGUF tensor list (llama.cpp names, layouts and types) and architecture metadata for merged HF weights. */
export function ggufModel(arch: ArchConfig, weights: ReadonlyMap<string, WeightTensor>, plan: TypePlan): { metadata: Map<string, GgufValue>; tensors: GgufTensor[]; fallbacks: string[] } {
  const name = ggufArchitecture(arch);
  const metadata = new Map<string, GgufValue>([['general.architecture', str(name)], ...architectureMetadata(arch, name)]);
  metadata.set('general.file_type', u32(FILE_TYPE[plan.type]));
  const tensors: GgufTensor[] = [];
  const fallbacks: string[] = [];
  const get = (...names: string[]): WeightTensor => {
    for (const n of names) {
      const t = weights.get(n);
      if (t) return t;
    }
    throw new FinetuneError('FILE_ERROR', `The model's weights lack ${names.join(' / ')}, which a ${arch.model_type} model has.`, {
      recovery: 'Check that config.json and the safetensors belong to the same model.',
      details: { field: names[0] },
    });
  };
  const add = (ggufName: string, t: WeightTensor) => {
    let type: GgmlType = t.shape.length === 1 ? 'f32' : plan.type;
    if (type === 'q8_0' && t.shape[t.shape.length - 1] % 32 !== 0) {
      if (plan.fallback === 'error') checkQuantizable(ggufName, t.shape, plan.fallback_field);
      type = plan.fallback === 'error' ? 'q8_0' : plan.fallback;
      fallbacks.push(ggufName);
    }
    tensors.push({ name: ggufName, shape: t.shape, type, data: t.data });
  };

  if (arch.family === 'gpt2') {
    // Checkpoints name GPT-2 tensors with or without `transformer.`; Conv1D weights are [in, out].
    const w = (n: string) => get(n, `transformer.${n}`);
    add('token_embd.weight', w('wte.weight'));
    add('position_embd.weight', w('wpe.weight'));
    for (let i = 0; i < arch.num_layers; i++) {
      for (const [ggufName, hfName] of GPT2_LAYER_TENSORS) {
        const t = w(`h.${i}.${hfName}`);
        add(`blk.${i}.${ggufName}`, t.shape.length === 2 ? transpose(t) : t);
      }
    }
    add('output_norm.weight', w('ln_f.weight'));
    add('output_norm.bias', w('ln_f.bias'));
    add('output.weight', weights.get('lm_head.weight') ?? w('wte.weight'));
    return { metadata, tensors, fallbacks };
  }

  // Only llama.cpp's "llama" RoPE rotates interleaved pairs; "qwen2" rotates halves as transformers does.
  const permute = name === 'llama';
  const hd = arch.head_dim;
  const qk = (t: WeightTensor, heads: number): WeightTensor => (permute ? { shape: t.shape, data: permuteForLlamaCpp(t.data, heads, hd, t.shape[1] ?? 1) } : t);
  add('token_embd.weight', get('model.embed_tokens.weight'));
  if (arch.rope_scaling?.rope_type === 'llama3') tensors.push({ name: 'rope_freqs.weight', shape: [hd / 2], type: 'f32', data: llama3RopeFactors(arch) });
  for (let i = 0; i < arch.num_layers; i++) {
    const p = `model.layers.${i}.`;
    const b = `blk.${i}.`;
    add(`${b}attn_norm.weight`, get(`${p}input_layernorm.weight`));
    add(`${b}attn_q.weight`, qk(get(`${p}self_attn.q_proj.weight`), arch.num_heads));
    add(`${b}attn_k.weight`, qk(get(`${p}self_attn.k_proj.weight`), arch.num_kv_heads));
    add(`${b}attn_v.weight`, get(`${p}self_attn.v_proj.weight`));
    if (arch.attention_bias) {
      add(`${b}attn_q.bias`, qk(get(`${p}self_attn.q_proj.bias`), arch.num_heads));
      add(`${b}attn_k.bias`, qk(get(`${p}self_attn.k_proj.bias`), arch.num_kv_heads));
      add(`${b}attn_v.bias`, get(`${p}self_attn.v_proj.bias`));
    }
    add(`${b}attn_output.weight`, get(`${p}self_attn.o_proj.weight`));
    add(`${b}ffn_norm.weight`, get(`${p}post_attention_layernorm.weight`));
    add(`${b}ffn_gate.weight`, get(`${p}mlp.gate_proj.weight`));
    add(`${b}ffn_up.weight`, get(`${p}mlp.up_proj.weight`));
    add(`${b}ffn_down.weight`, get(`${p}mlp.down_proj.weight`));
  }
  add('output_norm.weight', get('model.norm.weight'));
  // Tied embeddings: llama.cpp reuses token_embd when output.weight is absent, as the converter leaves it.
  if (!arch.tie_word_embeddings) add('output.weight', get('lm_head.weight'));
  return { metadata, tensors, fallbacks };
}
