import { FinetuneError } from '../../errors.js';

/**
 * A Hugging Face config.json normalised to the fields the runtime needs. The Llama family
 * (llama, mistral, qwen2; SmolLM and TinyLlama declare model_type llama), GPT-2 and the BERT-family
 * encoders (bert, roberta, xlm-roberta: embedding and classification only) are supported.
 */
interface RopeScaling {
  /** linear | dynamic | llama3 | yarn (as config.json declares it). */
  type: 'linear' | 'dynamic' | 'llama3' | 'yarn';
  factor: number;
  /** Every other key config.json gave (low_freq_factor, original_max_position_embeddings, …). */
  [key: string]: unknown;
}

export interface ModelConfig {
  model_type: string;
  architecture: 'llama' | 'gpt2' | 'bert';
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  vocab_size: number;
  max_position_embeddings: number;
  /** RMSNorm epsilon (Llama family); null for GPT-2. */
  rms_norm_eps: number | null;
  /** LayerNorm epsilon (GPT-2, BERT); null for the Llama family. */
  layer_norm_eps: number | null;
  /** RoPE base; null for GPT-2 (learned positions). */
  rope_theta: number | null;
  rope_scaling: RopeScaling | null;
  tie_word_embeddings: boolean;
  /** q/k/v (and for Llama o_proj when set) carry a bias: true for qwen2 and GPT-2. */
  attention_bias: boolean;
  mlp_bias: boolean;
  /** silu for the Llama family; gelu_new / gelu for GPT-2. */
  hidden_act: string;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
}

const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'gpt2', 'bert', 'roberta', 'xlm-roberta'] as const;

type Json = Record<string, unknown>;

function bad(field: string, message: string): FinetuneError {
  return new FinetuneError('CONFIG_INVALID', `config.json field '${field}' ${message}.`, {
    recovery: 'Fix config.json (it must be a Hugging Face transformers config) and import the model again.',
    details: { file: 'config.json', field },
  });
}

function int(raw: Json, field: string, fallback?: number): number {
  const value = raw[field] ?? fallback;
  // Safe integers only: a size past 2^53 cannot be a real model's and would not survive the record.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw bad(field, value === undefined ? 'is missing' : `must be a positive integer below 2^53, got ${JSON.stringify(value)}`);
  }
  return value;
}

function num(raw: Json, field: string, fallback: number): number {
  const value = raw[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(field, `must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function tokenIds(raw: Json, field: string): number | number[] | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (Array.isArray(value) && value.every((v) => Number.isInteger(v))) return value as number[];
  throw bad(field, `must be a token id or a list of ids, got ${JSON.stringify(value)}`);
}

function ropeScaling(raw: Json): RopeScaling | null {
  const value = raw.rope_scaling as Json | null | undefined;
  if (value === undefined || value === null) return null;
  const type = (value.rope_type ?? value.type) as string | undefined;
  // transformers calls no scaling "default"; treat it as none.
  if (type === 'default') return null;
  if (type !== 'linear' && type !== 'dynamic' && type !== 'llama3' && type !== 'yarn') {
    throw new FinetuneError('MODEL_UNSUPPORTED', `rope_scaling type '${String(type)}' is not supported; supported: linear, dynamic, llama3, yarn.`, {
      details: { file: 'config.json', field: 'rope_scaling.rope_type' },
    });
  }
  const factor = value.factor;
  if (typeof factor !== 'number' || !(factor > 0)) throw bad('rope_scaling.factor', `must be a positive number, got ${JSON.stringify(factor)}`);
  const { rope_type: _r, type: _t, ...rest } = value;
  return { ...rest, type, factor };
}

function parseLlamaFamily(raw: Json, modelType: string): ModelConfig {
  const hidden = int(raw, 'hidden_size');
  const heads = int(raw, 'num_attention_heads');
  const kvHeads = int(raw, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw bad('num_key_value_heads', `(${kvHeads}) must divide num_attention_heads (${heads})`);
  const headDim = raw.head_dim == null ? hidden / heads : int(raw, 'head_dim');
  if (!Number.isInteger(headDim)) throw bad('num_attention_heads', `(${heads}) must divide hidden_size (${hidden})`);
  return {
    model_type: modelType,
    architecture: 'llama',
    hidden_size: hidden,
    num_hidden_layers: int(raw, 'num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: int(raw, 'intermediate_size'),
    vocab_size: int(raw, 'vocab_size'),
    max_position_embeddings: int(raw, 'max_position_embeddings', 2048),
    rms_norm_eps: num(raw, 'rms_norm_eps', 1e-6),
    layer_norm_eps: null,
    rope_theta: num(raw, 'rope_theta', 10000),
    rope_scaling: ropeScaling(raw),
    tie_word_embeddings: Boolean(raw.tie_word_embeddings ?? false),
    // Qwen2 always has q/k/v bias (its config has no attention_bias key); Llama declares it.
    attention_bias: modelType === 'qwen2' ? true : Boolean(raw.attention_bias ?? false),
    mlp_bias: Boolean(raw.mlp_bias ?? false),
    hidden_act: String(raw.hidden_act ?? 'silu'),
    bos_token_id: tokenIds(raw, 'bos_token_id') as number | null,
    eos_token_id: tokenIds(raw, 'eos_token_id'),
  };
}

function parseGpt2(raw: Json): ModelConfig {
  const hidden = int(raw, 'n_embd');
  const heads = int(raw, 'n_head');
  if (hidden % heads !== 0) throw bad('n_head', `(${heads}) must divide n_embd (${hidden})`);
  return {
    model_type: 'gpt2',
    architecture: 'gpt2',
    hidden_size: hidden,
    num_hidden_layers: int(raw, 'n_layer'),
    num_attention_heads: heads,
    num_key_value_heads: heads,
    head_dim: hidden / heads,
    intermediate_size: raw.n_inner == null ? 4 * hidden : int(raw, 'n_inner'),
    vocab_size: int(raw, 'vocab_size'),
    max_position_embeddings: int(raw, 'n_positions', 1024),
    rms_norm_eps: null,
    layer_norm_eps: num(raw, 'layer_norm_epsilon', 1e-5),
    rope_theta: null,
    rope_scaling: null,
    tie_word_embeddings: Boolean(raw.tie_word_embeddings ?? true),
    attention_bias: true,
    mlp_bias: true,
    hidden_act: String(raw.activation_function ?? 'gelu_new'),
    bos_token_id: tokenIds(raw, 'bos_token_id') as number | null,
    eos_token_id: tokenIds(raw, 'eos_token_id'),
  };
}

/** BertModel / RobertaModel / XLMRobertaModel configs: learned absolute positions, post-LayerNorm, GELU. */
function parseBert(raw: Json, modelType: string): ModelConfig {
  const hidden = int(raw, 'hidden_size');
  const heads = int(raw, 'num_attention_heads');
  if (hidden % heads !== 0) throw bad('num_attention_heads', `(${heads}) must divide hidden_size (${hidden})`);
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new FinetuneError('MODEL_UNSUPPORTED', `position_embedding_type '${String(positionType)}' is not supported (absolute only).`, { details: { file: 'config.json', field: 'position_embedding_type' } });
  }
  return {
    model_type: modelType,
    architecture: 'bert',
    hidden_size: hidden,
    num_hidden_layers: int(raw, 'num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: heads,
    head_dim: hidden / heads,
    intermediate_size: int(raw, 'intermediate_size'),
    vocab_size: int(raw, 'vocab_size'),
    max_position_embeddings: int(raw, 'max_position_embeddings', 512),
    rms_norm_eps: null,
    layer_norm_eps: num(raw, 'layer_norm_eps', 1e-12),
    rope_theta: null,
    rope_scaling: null,
    tie_word_embeddings: true,
    attention_bias: true,
    mlp_bias: true,
    hidden_act: String(raw.hidden_act ?? 'gelu'),
    bos_token_id: tokenIds(raw, 'bos_token_id') as number | null,
    eos_token_id: tokenIds(raw, 'eos_token_id'),
  };
}

/** Normalises a parsed config.json; an unsupported model_type is MODEL_UNSUPPORTED naming the supported ones. */
export function parseModelConfig(json: unknown): ModelConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new FinetuneError('CONFIG_INVALID', 'config.json must hold a JSON object.', { details: { file: 'config.json' } });
  }
  const raw = json as Json;
  const modelType = raw.model_type;
  switch (modelType) {
    case 'llama':
    case 'mistral':
    case 'qwen2':
      return parseLlamaFamily(raw, modelType);
    case 'gpt2':
      return parseGpt2(raw);
    case 'bert':
    case 'roberta':
    case 'xlm-roberta':
      return parseBert(raw, modelType);
    default:
      throw new FinetuneError(
        'MODEL_UNSUPPORTED',
        `config.json model_type '${String(modelType)}' is not supported; supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')} ` +
          '(SmolLM and TinyLlama are llama).',
        { details: { file: 'config.json', field: 'model_type' } },
      );
  }
}
