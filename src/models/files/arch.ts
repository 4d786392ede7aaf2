import { FinetuneError } from '../../errors.js';

/**
 * The architecture facts the graph builder needs, read from a Hugging Face config.json (or the
 * models area's parsed ModelConfig, which keeps the same field names).
 */
export interface ArchConfig {
  /** bert = a bidirectional encoder (BERT, RoBERTa, XLM-R): it trains heads, never generates. */
  family: 'llama' | 'gpt2' | 'bert';
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_layers: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
  norm_eps: number;
  max_positions: number;
  tie_word_embeddings: boolean;
  /** Qwen2 puts biases on q, k and v. */
  attention_bias: boolean;
  mlp_bias: boolean;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  hidden_act: string;
  /** Mistral-style local attention: a query sees only the last `sliding_window` keys (null = all). */
  sliding_window: number | null;
  bos_token_id?: number;
  eos_token_ids: number[];
  /** Learned positions start here: RoBERTa and XLM-R count from pad_token_id + 1, others from 0. */
  position_offset: number;
}

interface RopeScaling {
  rope_type: 'linear' | 'llama3' | 'dynamic';
  factor: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

const LLAMA_TYPES = ['llama', 'mistral', 'qwen2', 'smollm', 'tinyllama'] as const;
const BERT_TYPES = ['bert', 'roberta', 'xlm-roberta'] as const;
const SUPPORTED_MODEL_TYPES = [...LLAMA_TYPES, 'gpt2', ...BERT_TYPES] as const;

/** Linear layers LoRA can target, by Hugging Face module name. */
export const LINEAR_MODULES: Record<ArchConfig['family'], readonly string[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
  // PEFT's names for BertModel: "dense" is the attention output, intermediate and output projections
  bert: ['query', 'key', 'value', 'dense'],
};

/** An encoder sees the whole text at once (no causal mask) and has no language-model head to generate with. */
export function isEncoder(arch: Pick<ArchConfig, 'family'>): boolean {
  return arch.family === 'bert';
}

/** Refuses an encoder where a decoder that generates is needed (generation, GGUF and ONNX decoder export). */
export function requireDecoder(arch: Pick<ArchConfig, 'family' | 'model_type'>, purpose: string): void {
  if (!isEncoder(arch)) return;
  throw new FinetuneError('MODEL_UNSUPPORTED', `${arch.model_type} is an encoder: it embeds text and generates none, so it cannot ${purpose}.`, {
    recovery: 'Use an encoder for embeddings (method "embedding"; evaluate_model on triplet data gives retrieval metrics, export_model with format "hf" writes its folder), or pick a decoder model.',
    details: { field: 'model_id' },
  });
}

type RawConfig = Record<string, unknown>;

function num(raw: RawConfig, keys: readonly string[], fallback?: number): number {
  for (const key of keys) {
    const v = raw[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new FinetuneError('MODEL_UNSUPPORTED', `config.json lacks ${keys.join(' / ')}`, { details: { file: 'config.json', field: keys[0] } });
}

function ids(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === 'number');
  return [];
}

export function archFromConfig(config: object): ArchConfig {
  const raw = config as RawConfig;
  const modelType = String(raw.model_type ?? '');
  if (modelType === 'gpt2') {
    const hidden = num(raw, ['n_embd', 'hidden_size']);
    const heads = num(raw, ['n_head', 'num_attention_heads']);
    return {
      family: 'gpt2',
      model_type: modelType,
      vocab_size: num(raw, ['vocab_size']),
      hidden_size: hidden,
      intermediate_size: typeof raw.n_inner === 'number' ? raw.n_inner : num(raw, ['intermediate_size'], 4 * hidden),
      num_layers: num(raw, ['n_layer', 'num_hidden_layers']),
      num_heads: heads,
      num_kv_heads: heads,
      head_dim: hidden / heads,
      norm_eps: num(raw, ['layer_norm_epsilon', 'layer_norm_eps'], 1e-5),
      max_positions: num(raw, ['n_positions', 'max_position_embeddings'], 1024),
      tie_word_embeddings: raw.tie_word_embeddings !== false,
      attention_bias: true,
      mlp_bias: true,
      rope_theta: 0,
      rope_scaling: null,
      hidden_act: String(raw.activation_function ?? raw.hidden_act ?? 'gelu_new'),
      sliding_window: null,
      bos_token_id: ids(raw.bos_token_id)[0],
      eos_token_ids: ids(raw.eos_token_id),
      position_offset: 0,
    };
  }
  if ((BERT_TYPES as readonly string[]).includes(modelType)) return bertArch(raw, modelType);
  if (!(LLAMA_TYPES as readonly string[]).includes(modelType)) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `model_type "${modelType}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, {
      details: { file: 'config.json', field: 'model_type' },
    });
  }
  const { hidden_size: hidden, ...sizes } = layerSizes(raw);
  const heads = num(raw, ['num_attention_heads']);
  const act = onlyActivation(raw, 'silu', modelType);
  return {
    family: 'llama',
    model_type: modelType,
    hidden_size: hidden,
    ...sizes,
    num_heads: heads,
    num_kv_heads: num(raw, ['num_key_value_heads'], heads),
    head_dim: num(raw, ['head_dim'], hidden / heads),
    norm_eps: num(raw, ['rms_norm_eps'], 1e-6),
    max_positions: num(raw, ['max_position_embeddings'], 2048),
    tie_word_embeddings: raw.tie_word_embeddings === true,
    attention_bias: modelType === 'qwen2' || raw.attention_bias === true,
    mlp_bias: raw.mlp_bias === true,
    rope_theta: num(raw, ['rope_theta'], 10000),
    rope_scaling: parseRopeScaling(raw.rope_scaling),
    hidden_act: act,
    sliding_window: typeof raw.sliding_window === 'number' && raw.use_sliding_window !== false ? raw.sliding_window : null,
    bos_token_id: ids(raw.bos_token_id)[0],
    eos_token_ids: ids(raw.eos_token_id),
    position_offset: 0,
  };
}

/** The sizes every Hugging Face config of the llama and BERT families names the same way. */
function layerSizes(raw: RawConfig): Pick<ArchConfig, 'vocab_size' | 'hidden_size' | 'intermediate_size' | 'num_layers'> {
  return { vocab_size: num(raw, ['vocab_size']), hidden_size: num(raw, ['hidden_size']), intermediate_size: num(raw, ['intermediate_size']), num_layers: num(raw, ['num_hidden_layers']) };
}

/** config.json's hidden_act (default `only`), refused unless it is the one activation the graph computes for the family. */
function onlyActivation(raw: RawConfig, only: string, modelType: string): string {
  const act = String(raw.hidden_act ?? only);
  if (act !== only) throw new FinetuneError('MODEL_UNSUPPORTED', `hidden_act "${act}" is not supported for ${modelType} (${only} only)`, { details: { file: 'config.json', field: 'hidden_act' } });
  return act;
}

function bertArch(raw: RawConfig, modelType: string): ArchConfig {
  const { hidden_size: hidden, ...sizes } = layerSizes(raw);
  const heads = num(raw, ['num_attention_heads']);
  const act = onlyActivation(raw, 'gelu', modelType);
  return {
    family: 'bert',
    model_type: modelType,
    hidden_size: hidden,
    ...sizes,
    num_heads: heads,
    num_kv_heads: heads,
    head_dim: hidden / heads,
    norm_eps: num(raw, ['layer_norm_eps'], 1e-12),
    max_positions: num(raw, ['max_position_embeddings'], 512),
    tie_word_embeddings: true,
    attention_bias: true,
    mlp_bias: true,
    rope_theta: 0,
    rope_scaling: null,
    hidden_act: act,
    sliding_window: null,
    bos_token_id: ids(raw.bos_token_id)[0],
    eos_token_ids: ids(raw.eos_token_id),
    // RoBERTa's position ids are cumsum(mask) + padding_idx: a right-padded row's tokens sit at offset + t
    position_offset: modelType === 'bert' ? 0 : num(raw, ['pad_token_id'], 1) + 1,
  };
}

function parseRopeScaling(value: unknown): RopeScaling | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as RawConfig;
  const type = String(v.rope_type ?? v.type ?? 'default');
  if (type === 'default') return null;
  if (type !== 'linear' && type !== 'llama3' && type !== 'dynamic') {
    throw new FinetuneError('MODEL_UNSUPPORTED', `rope_scaling type "${type}" is not supported (linear, dynamic, llama3)`, {
      details: { file: 'config.json', field: 'rope_scaling' },
    });
  }
  return {
    rope_type: type,
    factor: num(v, ['factor'], 1),
    low_freq_factor: typeof v.low_freq_factor === 'number' ? v.low_freq_factor : undefined,
    high_freq_factor: typeof v.high_freq_factor === 'number' ? v.high_freq_factor : undefined,
    original_max_position_embeddings: typeof v.original_max_position_embeddings === 'number' ? v.original_max_position_embeddings : undefined,
  };
}
