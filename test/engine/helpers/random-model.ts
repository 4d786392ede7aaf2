/**
 * Small random models in memory: a Map of Hugging Face-named tensors plus the config.json fields,
 * the shape `createTrainStep` and the runtime take (LoadedModel without files).
 */
export interface RandomModel {
  config: Record<string, unknown>;
  raw_config: Record<string, unknown>;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
}

export { mulberry32 as seededRandom } from '../../../src/random.js';
import { mulberry32 as seededRandom } from '../../../src/random.js';

function filler(seed: number, scale: number) {
  const next = seededRandom(seed);
  return (shape: number[], around = 0): { shape: number[]; data: Float32Array } => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = around + (2 * next() - 1) * scale;
    return { shape, data };
  };
}

export interface LlamaShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  inter: number;
  tied: boolean;
  qkvBias?: boolean;
  modelType?: string;
  ropeTheta?: number;
  ropeScaling?: Record<string, unknown>;
}

export function randomLlama(s: LlamaShape, seed = 1, scale = 0.2): RandomModel {
  const w = filler(seed, scale);
  const hd = s.hidden / s.heads;
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  weights.set('model.embed_tokens.weight', w([s.vocab, s.hidden]));
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}`;
    weights.set(`${p}.input_layernorm.weight`, w([s.hidden], 1));
    weights.set(`${p}.self_attn.q_proj.weight`, w([s.heads * hd, s.hidden]));
    weights.set(`${p}.self_attn.k_proj.weight`, w([s.kvHeads * hd, s.hidden]));
    weights.set(`${p}.self_attn.v_proj.weight`, w([s.kvHeads * hd, s.hidden]));
    if (s.qkvBias) {
      weights.set(`${p}.self_attn.q_proj.bias`, w([s.heads * hd]));
      weights.set(`${p}.self_attn.k_proj.bias`, w([s.kvHeads * hd]));
      weights.set(`${p}.self_attn.v_proj.bias`, w([s.kvHeads * hd]));
    }
    weights.set(`${p}.self_attn.o_proj.weight`, w([s.hidden, s.heads * hd]));
    weights.set(`${p}.post_attention_layernorm.weight`, w([s.hidden], 1));
    weights.set(`${p}.mlp.gate_proj.weight`, w([s.inter, s.hidden]));
    weights.set(`${p}.mlp.up_proj.weight`, w([s.inter, s.hidden]));
    weights.set(`${p}.mlp.down_proj.weight`, w([s.hidden, s.inter]));
  }
  weights.set('model.norm.weight', w([s.hidden], 1));
  if (!s.tied) weights.set('lm_head.weight', w([s.vocab, s.hidden]));
  const config = {
    model_type: s.modelType ?? (s.qkvBias ? 'qwen2' : 'llama'),
    hidden_size: s.hidden,
    intermediate_size: s.inter,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    vocab_size: s.vocab,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: s.ropeTheta ?? 10000,
    ...(s.ropeScaling ? { rope_scaling: s.ropeScaling } : {}),
    hidden_act: 'silu',
    tie_word_embeddings: s.tied,
  };
  return { config, raw_config: config, weights };
}

export interface Gpt2Shape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  positions: number;
}

export function randomGpt2(s: Gpt2Shape, seed = 2, scale = 0.2): RandomModel {
  const w = filler(seed, scale);
  const d = s.hidden;
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  // GPT-2's own checkpoints name tensors without the "transformer." prefix
  weights.set('wte.weight', w([s.vocab, d]));
  weights.set('wpe.weight', w([s.positions, d]));
  for (let i = 0; i < s.layers; i++) {
    const p = `h.${i}`;
    weights.set(`${p}.ln_1.weight`, w([d], 1));
    weights.set(`${p}.ln_1.bias`, w([d]));
    weights.set(`${p}.attn.c_attn.weight`, w([d, 3 * d]));
    weights.set(`${p}.attn.c_attn.bias`, w([3 * d]));
    weights.set(`${p}.attn.c_proj.weight`, w([d, d]));
    weights.set(`${p}.attn.c_proj.bias`, w([d]));
    weights.set(`${p}.ln_2.weight`, w([d], 1));
    weights.set(`${p}.ln_2.bias`, w([d]));
    weights.set(`${p}.mlp.c_fc.weight`, w([d, 4 * d]));
    weights.set(`${p}.mlp.c_fc.bias`, w([4 * d]));
    weights.set(`${p}.mlp.c_proj.weight`, w([4 * d, d]));
    weights.set(`${p}.mlp.c_proj.bias`, w([d]));
  }
  weights.set('ln_f.weight', w([d], 1));
  weights.set('ln_f.bias', w([d]));
  const config = {
    model_type: 'gpt2',
    n_embd: d,
    n_layer: s.layers,
    n_head: s.heads,
    n_positions: s.positions,
    vocab_size: s.vocab,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  };
  return { config, raw_config: config, weights };
}

export interface BertShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  inter: number;
  positions: number;
  /** 'bert' (positions from 0) or 'xlm-roberta' (positions from pad_token_id + 1 = 2). */
  modelType?: 'bert' | 'xlm-roberta';
  /** Weight-name prefix: '' as a bare BertModel saves them, 'bert.' / 'roberta.' as a …ForMaskedLM does. */
  prefix?: string;
  /** BERT's pooler (dense + tanh on [CLS]), which BertModel checkpoints carry. */
  pooler?: boolean;
}

export function randomBert(s: BertShape, seed = 3, scale = 0.2): RandomModel {
  const w = filler(seed, scale);
  const d = s.hidden;
  const pre = s.prefix ?? '';
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  weights.set(`${pre}embeddings.word_embeddings.weight`, w([s.vocab, d]));
  weights.set(`${pre}embeddings.position_embeddings.weight`, w([s.positions, d]));
  weights.set(`${pre}embeddings.token_type_embeddings.weight`, w([s.modelType === 'xlm-roberta' ? 1 : 2, d]));
  weights.set(`${pre}embeddings.LayerNorm.weight`, w([d], 1));
  weights.set(`${pre}embeddings.LayerNorm.bias`, w([d]));
  for (let i = 0; i < s.layers; i++) {
    const p = `${pre}encoder.layer.${i}`;
    for (const m of ['query', 'key', 'value']) {
      weights.set(`${p}.attention.self.${m}.weight`, w([d, d]));
      weights.set(`${p}.attention.self.${m}.bias`, w([d]));
    }
    weights.set(`${p}.attention.output.dense.weight`, w([d, d]));
    weights.set(`${p}.attention.output.dense.bias`, w([d]));
    weights.set(`${p}.attention.output.LayerNorm.weight`, w([d], 1));
    weights.set(`${p}.attention.output.LayerNorm.bias`, w([d]));
    weights.set(`${p}.intermediate.dense.weight`, w([s.inter, d]));
    weights.set(`${p}.intermediate.dense.bias`, w([s.inter]));
    weights.set(`${p}.output.dense.weight`, w([d, s.inter]));
    weights.set(`${p}.output.dense.bias`, w([d]));
    weights.set(`${p}.output.LayerNorm.weight`, w([d], 1));
    weights.set(`${p}.output.LayerNorm.bias`, w([d]));
  }
  if (s.pooler) {
    weights.set(`${pre}pooler.dense.weight`, w([d, d]));
    weights.set(`${pre}pooler.dense.bias`, w([d]));
  }
  const config = {
    model_type: s.modelType ?? 'bert',
    architectures: [s.modelType === 'xlm-roberta' ? 'XLMRobertaModel' : 'BertModel'],
    hidden_size: d,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.inter,
    vocab_size: s.vocab,
    max_position_embeddings: s.positions,
    type_vocab_size: s.modelType === 'xlm-roberta' ? 1 : 2,
    layer_norm_eps: 1e-12,
    hidden_act: 'gelu',
    pad_token_id: s.modelType === 'xlm-roberta' ? 1 : 0,
    position_embedding_type: 'absolute',
  };
  return { config, raw_config: config, weights };
}
