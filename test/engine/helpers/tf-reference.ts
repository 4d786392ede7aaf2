/**
 * An independent forward of the same models in TensorFlow.js, written from the transformers
 * modelling code (LlamaForCausalLM / Qwen2 / GPT2LMHeadModel / BertModel / XLMRobertaModel) rather than from our graph: RoPE by
 * slicing halves (rotate_half), kv heads repeated by gather, LayerNorm/RMSNorm by their formulas.
 * `tf.grads` of its losses is the autodiff oracle for the ONNX training graph.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomModel } from './random-model.js';

export type Tensors = Map<string, tf.Tensor>;

export interface RefLora {
  scale: number;
  /** module path (e.g. model.layers.0.self_attn.q_proj) → [A [r,in], B [out,r]] */
  adapters: Map<string, [tf.Tensor, tf.Tensor]>;
}

export interface RefBatch {
  ids: number[][];
  attention: number[][];
}

function cfg(model: RandomModel): Record<string, number | string | boolean> {
  return model.raw_config as Record<string, number | string | boolean>;
}

function get(w: Tensors, name: string): tf.Tensor {
  const t = w.get(name) ?? w.get(name.replace(/^transformer\./, ''));
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

function lora(x: tf.Tensor2D, path: string, l: RefLora | undefined): tf.Tensor2D | undefined {
  const ad = l?.adapters.get(path);
  if (!ad) return undefined;
  return tf.matMul(tf.matMul(x, ad[0] as tf.Tensor2D, false, true), ad[1] as tf.Tensor2D, false, true).mul(l!.scale) as tf.Tensor2D;
}

function linear(x: tf.Tensor2D, w: Tensors, path: string, l: RefLora | undefined, bias: boolean): tf.Tensor2D {
  let y = tf.matMul(x, get(w, `${path}.weight`) as tf.Tensor2D, false, true);
  if (bias) y = y.add(get(w, `${path}.bias`));
  const extra = lora(x, path, l);
  return extra ? y.add(extra) : y;
}

function conv1d(x: tf.Tensor2D, w: Tensors, path: string, l: RefLora | undefined): tf.Tensor2D {
  let y = tf.matMul(x, get(w, `${path}.weight`) as tf.Tensor2D).add(get(w, `${path}.bias`)) as tf.Tensor2D;
  const extra = lora(x, path, l);
  if (extra) y = y.add(extra);
  return y;
}

/** Causal + key-padding (+ Mistral sliding-window: keys older than `window` hidden) additive mask [B,1,T,T]. */
function maskBias(batch: RefBatch, window?: number): tf.Tensor {
  const B = batch.ids.length;
  const T = batch.ids[0]!.length;
  const data = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) if (j > i || batch.attention[b]![j] === 0 || (window !== undefined && i - j >= window)) data[(b * T + i) * T + j] = -1e9;
  return tf.tensor(data, [B, 1, T, T]);
}

function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor, hd: number): tf.Tensor {
  const scores = tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true).div(Math.sqrt(hd)).add(bias);
  return tf.matMul(tf.softmax(scores) as tf.Tensor4D, v as tf.Tensor4D);
}

function rotateHalf(x: tf.Tensor): tf.Tensor {
  const half = x.shape[3]! / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  return tf.concat([x2!.neg(), x1!], 3);
}

/** Final hidden → logits [B·T, V] for a Llama-family model. */
export function llamaLogits(model: RandomModel, w: Tensors, batch: RefBatch, l?: RefLora): tf.Tensor2D {
  const c = cfg(model);
  const head = c.tie_word_embeddings ? get(w, 'model.embed_tokens.weight') : get(w, 'lm_head.weight');
  return tf.matMul(llamaHidden(model, w, batch, l), head as tf.Tensor2D, false, true);
}

/** Final hidden states after the last norm [B·T, D] of a Llama-family model. */
export function llamaHidden(model: RandomModel, w: Tensors, batch: RefBatch, l?: RefLora): tf.Tensor2D {
  const c = cfg(model);
  const B = batch.ids.length;
  const T = batch.ids[0]!.length;
  const D = c.hidden_size as number;
  const H = c.num_attention_heads as number;
  const Hkv = c.num_key_value_heads as number;
  const hd = D / H;
  const eps = c.rms_norm_eps as number;
  const qkvBias = c.model_type === 'qwen2';
  const rms = (x: tf.Tensor2D, weight: tf.Tensor): tf.Tensor2D => x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(weight) as tf.Tensor2D;
  const inv = Array.from({ length: hd / 2 }, (_, i) => 1 / Math.pow(c.rope_theta as number, (2 * i) / hd));
  // transformers' "linear" rope scaling divides positions by the factor
  const scaling = c.rope_scaling as unknown as { type?: string; rope_type?: string; factor?: number } | undefined;
  const positionScale = (scaling?.rope_type ?? scaling?.type) === 'linear' ? scaling!.factor! : 1;
  const angles = Array.from({ length: T }, (_, t) => [...inv, ...inv].map((f) => (t / positionScale) * f));
  const cos = tf.tensor(angles.map((r) => r.map(Math.cos)));
  const sin = tf.tensor(angles.map((r) => r.map(Math.sin)));
  const rope = (x: tf.Tensor): tf.Tensor => x.mul(cos).add(rotateHalf(x).mul(sin));
  const heads = (x: tf.Tensor2D, n: number): tf.Tensor => x.reshape([B, T, n, hd]).transpose([0, 2, 1, 3]);
  const repeat = tf.tensor1d(
    Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv))),
    'int32',
  );
  const bias = maskBias(batch, typeof c.sliding_window === 'number' ? c.sliding_window : undefined);
  let h = tf.gather(get(w, 'model.embed_tokens.weight'), tf.tensor1d(batch.ids.flat(), 'int32')) as tf.Tensor2D;
  for (let i = 0; i < (c.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}`;
    const xn = rms(h, get(w, `${p}.input_layernorm.weight`));
    const q = rope(heads(linear(xn, w, `${p}.self_attn.q_proj`, l, qkvBias), H));
    const k = tf.gather(rope(heads(linear(xn, w, `${p}.self_attn.k_proj`, l, qkvBias), Hkv)), repeat, 1);
    const v = tf.gather(heads(linear(xn, w, `${p}.self_attn.v_proj`, l, qkvBias), Hkv), repeat, 1);
    const o = attend(q, k, v, bias, hd).transpose([0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
    h = h.add(linear(o, w, `${p}.self_attn.o_proj`, l, false));
    const xm = rms(h, get(w, `${p}.post_attention_layernorm.weight`));
    const gate = linear(xm, w, `${p}.mlp.gate_proj`, l, false);
    const up = linear(xm, w, `${p}.mlp.up_proj`, l, false);
    h = h.add(linear(gate.mul(tf.sigmoid(gate)).mul(up) as tf.Tensor2D, w, `${p}.mlp.down_proj`, l, false));
  }
  return rms(h, get(w, 'model.norm.weight'));
}

export function gpt2Logits(model: RandomModel, w: Tensors, batch: RefBatch, l?: RefLora): tf.Tensor2D {
  return tf.matMul(gpt2Hidden(model, w, batch, l), get(w, 'wte.weight') as tf.Tensor2D, false, true);
}

/** Final hidden states after ln_f [B·T, D] of a GPT-2 model. */
export function gpt2Hidden(model: RandomModel, w: Tensors, batch: RefBatch, l?: RefLora): tf.Tensor2D {
  const c = cfg(model);
  const B = batch.ids.length;
  const T = batch.ids[0]!.length;
  const D = c.n_embd as number;
  const H = c.n_head as number;
  const hd = D / H;
  const ln = (x: tf.Tensor2D, p: string): tf.Tensor2D => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(tf.sqrt(variance.add(c.layer_norm_epsilon as number))).mul(get(w, `${p}.weight`)).add(get(w, `${p}.bias`)) as tf.Tensor2D;
  };
  const heads = (x: tf.Tensor): tf.Tensor => x.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]);
  const bias = maskBias(batch);
  const pos = tf.tensor1d(Array.from({ length: B * T }, (_, i) => i % T), 'int32');
  let h = tf.gather(get(w, 'wte.weight'), tf.tensor1d(batch.ids.flat(), 'int32')).add(tf.gather(get(w, 'wpe.weight'), pos)) as tf.Tensor2D;
  for (let i = 0; i < (c.n_layer as number); i++) {
    const p = `transformer.h.${i}`;
    const qkv = conv1d(ln(h, `${p}.ln_1`), w, `${p}.attn.c_attn`, l);
    const [q, k, v] = tf.split(qkv, 3, 1);
    const o = attend(heads(q!), heads(k!), heads(v!), bias, hd).transpose([0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
    h = h.add(conv1d(o, w, `${p}.attn.c_proj`, l));
    const fc = conv1d(ln(h, `${p}.ln_2`), w, `${p}.mlp.c_fc`, l);
    const gelu = fc.mul(0.5).mul(tf.tanh(fc.add(fc.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)) as tf.Tensor2D;
    h = h.add(conv1d(gelu, w, `${p}.mlp.c_proj`, l));
  }
  return ln(h, 'transformer.ln_f');
}

/**
 * Last hidden states [B·T, D] of a BertModel / XLMRobertaModel: word + position + token type 0
 * embeddings, LayerNorm, then per layer LayerNorm(h + attention) and LayerNorm(h + FFN) with exact
 * (erf) GELU; every query sees every real key (padding keys masked). XLM-R counts positions from
 * pad_token_id + 1.
 */
export function bertHidden(model: RandomModel, w: Tensors, batch: RefBatch, l?: RefLora, prefix = ''): tf.Tensor2D {
  const c = cfg(model);
  const B = batch.ids.length;
  const T = batch.ids[0]!.length;
  const D = c.hidden_size as number;
  const H = c.num_attention_heads as number;
  const hd = D / H;
  const ln = (x: tf.Tensor2D, p: string): tf.Tensor2D => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(tf.sqrt(variance.add(c.layer_norm_eps as number))).mul(get(w, `${p}.weight`)).add(get(w, `${p}.bias`)) as tf.Tensor2D;
  };
  const heads = (x: tf.Tensor): tf.Tensor => x.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]);
  const maskData = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (batch.attention[b]![j] === 0) maskData[(b * T + i) * T + j] = -1e9;
  const bias = tf.tensor(maskData, [B, 1, T, T]);
  const offset = c.model_type === 'bert' ? 0 : (c.pad_token_id as number) + 1;
  const pos = tf.tensor1d(Array.from({ length: B * T }, (_, i) => (i % T) + offset), 'int32');
  const e = `${prefix}embeddings`;
  let h = tf
    .gather(get(w, `${e}.word_embeddings.weight`), tf.tensor1d(batch.ids.flat(), 'int32'))
    .add(tf.gather(get(w, `${e}.position_embeddings.weight`), pos))
    .add(tf.gather(get(w, `${e}.token_type_embeddings.weight`), tf.zeros([B * T], 'int32'))) as tf.Tensor2D;
  h = ln(h, `${e}.LayerNorm`);
  for (let i = 0; i < (c.num_hidden_layers as number); i++) {
    const p = `${prefix}encoder.layer.${i}`;
    const [q, k, v] = ['query', 'key', 'value'].map((m) => heads(linear(h, w, `${p}.attention.self.${m}`, l, true)));
    const o = attend(q!, k!, v!, bias, hd).transpose([0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
    h = ln(h.add(linear(o, w, `${p}.attention.output.dense`, l, true)), `${p}.attention.output.LayerNorm`);
    const fc = linear(h, w, `${p}.intermediate.dense`, l, true);
    const gelu = fc.mul(0.5).mul(tf.erf(fc.div(Math.SQRT2)).add(1)) as tf.Tensor2D;
    h = ln(h.add(linear(gelu, w, `${p}.output.dense`, l, true)), `${p}.output.LayerNorm`);
  }
  return h;
}

/** Per-row Σ log p(token t | < t) over tokens where lossMask[t] = 1 (t ≥ 1). */
export function rowLogps(logits: tf.Tensor2D, batch: RefBatch, lossMask: number[][]): tf.Tensor1D {
  const B = batch.ids.length;
  const T = batch.ids[0]!.length;
  const V = logits.shape[1];
  const targets: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      targets.push(t + 1 < T ? batch.ids[b]![t + 1]! : 0);
      weights.push(t + 1 < T ? lossMask[b]![t + 1]! : 0);
    }
  const logp = tf.logSoftmax(logits).mul(tf.oneHot(tf.tensor1d(targets, 'int32'), V)).sum(-1);
  return logp.mul(tf.tensor1d(weights)).reshape([B, T]).sum(-1) as tf.Tensor1D;
}

export function toTensors(weights: RandomModel['weights']): Tensors {
  const out: Tensors = new Map();
  for (const [name, t] of weights) out.set(name, tf.tensor(t.data, t.shape));
  return out;
}

export { tf };
