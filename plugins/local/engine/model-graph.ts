import { FinetuneError } from '../../../src/errors.js';
import type { Dim, Graph, Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import type { ArchConfig } from '../../../src/models/files/arch.js';
import { WEIGHT_PREFIXES } from '../../../src/models/files/expected-weights.js';
import { attention } from './attention.js';

interface WeightTensor {
  shape: number[];
  data: Float32Array;
}
export type Weights = Map<string, WeightTensor>;

export interface LoraPlan {
  r: number;
  /** alpha / r, or alpha / √r with rsLoRA. */
  scale: number;
  dropout: number;
  /** HF module names (q_proj, c_attn, …) that get adapters. */
  targets: ReadonlySet<string>;
}

interface ModelGraphOptions {
  arch: ArchConfig;
  weights: Weights;
  batch: Dim;
  seq: Dim;
  /** Static [B·T, D] hidden layout for training graphs; [B, T, D] (symbolic dims allowed) otherwise. */
  flat: boolean;
  /** Length of the KV cache fed in (a decode graph takes and returns the cache). */
  past?: Dim;
  lora?: LoraPlan;
  /** Full fine-tuning: every weight is a trainable graph input instead of an initializer. */
  full?: boolean;
  /** QLoRA: frozen linear weights held quantised; gives x·Wᵀ (and W's stored shape) for those it holds. */
  frozenLinear?: (x: Value, name: string, conv1d: boolean) => { y: Value; shape: number[] } | undefined;
}

export interface TrainableInput {
  /** PEFT name for LoRA matrices, Hugging Face name for full fine-tuning. */
  name: string;
  value: Value;
  shape: number[];
  /** For LoRA: fan-in for kaiming init of A, or 'zeros' for B. */
  init: { kind: 'lora_A'; fan_in: number } | { kind: 'zeros' } | { kind: 'weight'; source: string } | { kind: 'normal'; std: number; seed: number };
}

interface ModelGraph {
  /** Final hidden states after the last norm: [B·T, D] or [B, T, D]. */
  hidden: Value;
  /** Output head weight [V, D] (tied embedding or lm_head). */
  head: Value;
  trainable: TrainableInput[];
  presents: Value[];
  /** LoRA target modules asked for that this architecture does not have. */
  missing_targets: string[];
}

/** Builds a decoder-only language model (or a BERT-family encoder) forward into `g`. */
export function buildModel(g: Graph, o: ModelGraphOptions): ModelGraph {
  const builder = new ModelBuilder(g, o);
  return builder.build();
}

class ModelBuilder {
  private readonly params = new Map<string, Value>();
  readonly trainable: TrainableInput[] = [];
  private readonly presents: Value[] = [];
  private readonly usedTargets = new Set<string>();
  private rotate: Value | undefined;
  private cos: Value | undefined;
  private sin: Value | undefined;
  private bias!: Value;
  private dropoutSeed: Value | undefined;
  private dropoutCount = 0;
  private readonly iotas = new Map<number, Value>();

  constructor(
    private readonly g: Graph,
    private readonly o: ModelGraphOptions,
  ) {}

  private get arch(): ArchConfig {
    return this.o.arch;
  }

  build(): ModelGraph {
    const { g, o, arch } = this;
    const ids = g.input('input_ids', 'int64', [o.batch, o.seq]);
    const total: Dim = o.past === undefined ? o.seq : typeof o.past === 'number' && typeof o.seq === 'number' ? o.past + o.seq : 'total';
    this.bias = g.input('attn_bias', 'float32', [o.batch, 1, o.seq, total]);
    let h: Value;
    let head: Value;
    if (arch.family === 'llama') {
      this.cos = g.input('rope_cos', 'float32', [o.seq, arch.head_dim]);
      this.sin = g.input('rope_sin', 'float32', [o.seq, arch.head_dim]);
      const embed = this.param('model.embed_tokens.weight');
      h = this.flatten(op.gather(embed, ids));
      for (let i = 0; i < arch.num_layers; i++) h = this.llamaLayer(h, i);
      h = this.rmsNorm(h, this.param('model.norm.weight'));
      head = arch.tie_word_embeddings ? embed : this.param('lm_head.weight');
    } else if (arch.family === 'bert') {
      ({ hidden: h, head } = this.bertEncoder(ids));
    } else {
      const positions = g.input('position_ids', 'int64', [o.seq]);
      const wte = this.param('transformer.wte.weight');
      h = op.add(op.gather(wte, ids), op.gather(this.param('transformer.wpe.weight'), positions));
      h = this.flatten(h);
      for (let i = 0; i < arch.num_layers; i++) h = this.gpt2Layer(h, i);
      h = this.layerNorm(h, 'transformer.ln_f');
      head = arch.tie_word_embeddings || !this.has('lm_head.weight') ? wte : this.param('lm_head.weight');
    }
    const wanted = o.lora ? [...o.lora.targets] : [];
    return { hidden: h, head, trainable: this.trainable, presents: this.presents, missing_targets: wanted.filter((t) => !this.usedTargets.has(t)) };
  }

  private flatten(x: Value): Value {
    const { o } = this;
    if (!o.flat) return x;
    return op.reshape(x, [(o.batch as number) * (o.seq as number), x.shape[2] as number]);
  }

  private has(name: string): boolean {
    return this.o.weights.has(name) || (name.startsWith('transformer.') && this.o.weights.has(name.slice('transformer.'.length)));
  }

  /** GPT-2's own checkpoints drop the "transformer." prefix; keep whichever name the files use. */
  private weightKey(name: string): string {
    return !this.o.weights.has(name) && name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
  }

  /** A weight: an initializer when frozen (stored once), a trainable input for full fine-tuning. */
  private param(name: string): Value {
    const cached = this.params.get(name);
    if (cached) return cached;
    const key = this.weightKey(name);
    const tensor = this.o.weights.get(key);
    if (!tensor) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `weight ${name} is missing from the model files (${this.arch.model_type})`, {
        details: { file: 'model.safetensors', field: name },
      });
    }
    let value: Value;
    if (this.o.full) {
      value = this.g.input(key, 'float32', tensor.shape, { requiresGrad: true });
      this.trainable.push({ name: key, value, shape: tensor.shape, init: { kind: 'weight', source: key } });
    } else value = this.g.initializer(key, tensor.data, tensor.shape);
    this.params.set(name, value);
    return value;
  }

  /** y = x·Wᵀ (+ b) (+ LoRA); GPT-2's Conv1D stores W as [in, out]. */
  private linear(x: Value, prefix: string, module: string, opts: { bias: boolean; conv1d?: boolean }): Value {
    const quantised = this.o.full ? undefined : this.o.frozenLinear?.(x, this.weightKey(`${prefix}.weight`), opts.conv1d ?? false);
    const w = quantised ? undefined : this.param(`${prefix}.weight`);
    const wShape = quantised?.shape ?? w!.shape;
    let y = quantised ? quantised.y : opts.conv1d ? op.matmul(x, w!) : op.fusedMatMul(x, w!, { transB: true });
    if (opts.bias) y = op.add(y, this.param(`${prefix}.bias`));
    const lora = this.o.lora;
    if (lora?.targets.has(module)) {
      this.usedTargets.add(module);
      const [inDim, outDim] = opts.conv1d ? wShape : [wShape[1], wShape[0]];
      const peft = `base_model.model.${prefix}`;
      const a = this.g.input(`${peft}.lora_A.weight`, 'float32', [lora.r, inDim!], { requiresGrad: true });
      const b = this.g.input(`${peft}.lora_B.weight`, 'float32', [outDim!, lora.r], { requiresGrad: true });
      this.trainable.push({ name: a.name, value: a, shape: [lora.r, inDim as number], init: { kind: 'lora_A', fan_in: inDim as number } });
      this.trainable.push({ name: b.name, value: b, shape: [outDim as number, lora.r], init: { kind: 'zeros' } });
      const xd = lora.dropout > 0 && this.o.flat ? this.dropout(x, lora.dropout) : x;
      y = op.add(y, op.fusedMatMul(op.fusedMatMul(xd, a, { transB: true }), b, { transB: true, alpha: lora.scale }));
    }
    return y;
  }

  /**
   * Inverted dropout with a mask hashed from (element index, dropout_seed input, module), so a step is
   * reproducible from its seed without feeding masks from JS.
   */
  private dropout(x: Value, p: number): Value {
    const g = this.g;
    const [n, d] = x.shape as [number, number];
    this.dropoutSeed ??= g.input('dropout_seed', 'float32', []);
    let iota = this.iotas.get(d);
    if (!iota) {
      const data = new Float32Array(n * d);
      for (let i = 0; i < data.length; i++) data[i] = (i % 8191) * 0.61803398875 + Math.floor(i / 8191) * 0.7548776662;
      iota = g.initializer(g.fresh('dropout_iota'), data, [n, d], 'float32', true);
      this.iotas.set(d, iota);
    }
    const offset = g.scalar((++this.dropoutCount * 0.3819660113) % 1);
    const [shifted] = g.node('Add', [iota, this.dropoutSeed], [{ dtype: 'float32', shape: [n, d] }]);
    const [moved] = g.node('Add', [shifted!, offset], [{ dtype: 'float32', shape: [n, d] }]);
    const [s] = g.node('Sin', [moved!], [{ dtype: 'float32', shape: [n, d] }]);
    const [big] = g.node('Mul', [s!, g.scalar(43758.5453)], [{ dtype: 'float32', shape: [n, d] }]);
    const [fl] = g.node('Floor', [big!], [{ dtype: 'float32', shape: [n, d] }]);
    const [u] = g.node('Sub', [big!, fl!], [{ dtype: 'float32', shape: [n, d] }]);
    const [keep] = g.node('Greater', [u!, g.scalar(p)], [{ dtype: 'bool', shape: [n, d] }]);
    const [mask] = g.node('Where', [keep!, g.scalar(1 / (1 - p)), g.scalar(0)], [{ dtype: 'float32', shape: [n, d] }]);
    return op.mul(x, mask!);
  }

  private rmsNorm(x: Value, w: Value): Value {
    return op.rmsNorm(x, w, this.arch.norm_eps);
  }

  private layerNorm(x: Value, prefix: string): Value {
    const mu = op.reduceMean(x, [-1], true);
    const xc = op.sub(x, mu);
    const variance = op.reduceMean(op.mul(xc, xc), [-1], true);
    const r = op.reciprocal(op.sqrt(op.addScalar(variance, this.arch.norm_eps)));
    return op.add(op.mul(op.mul(xc, r), this.param(`${prefix}.weight`)), this.param(`${prefix}.bias`));
  }

  /** [.., n·hd] → [B, n, T, hd]. */
  private heads(x: Value, n: number): Value {
    const { o, arch } = this;
    const hd = arch.head_dim;
    const split = o.flat ? op.reshape(x, [o.batch as number, o.seq as number, n, hd]) : op.reshape(x, [0, 0, n, hd], [o.batch, o.seq, n, hd]);
    return op.transpose(split, [0, 2, 1, 3]);
  }

  /** [B, H, T, hd] → hidden layout. */
  private mergeHeads(x: Value): Value {
    const { o, arch } = this;
    const width = arch.num_heads * arch.head_dim;
    const t = op.transpose(x, [0, 2, 1, 3]);
    return o.flat ? op.reshape(t, [(o.batch as number) * (o.seq as number), width]) : op.reshape(t, [0, 0, width], [o.batch, o.seq, width]);
  }

  /** Rotate-half RoPE as x·cos + (x·R)·sin with R a fixed signed permutation. */
  private rope(x: Value): Value {
    const hd = this.arch.head_dim;
    if (!this.rotate) {
      const r = new Float32Array(hd * hd);
      const half = hd / 2;
      for (let j = 0; j < half; j++) {
        r[(j + half) * hd + j] = -1;
        r[j * hd + j + half] = 1;
      }
      this.rotate = this.g.initializer('rope_rotate', r, [hd, hd]);
    }
    return op.add(op.mul(x, this.cos!), op.mul(op.matmul(x, this.rotate), this.sin!));
  }

  private cache(k: Value, v: Value, layer: number): [Value, Value] {
    const { o, g, arch } = this;
    if (o.past === undefined) return [k, v];
    const shape = [o.batch, arch.num_kv_heads, o.past, arch.head_dim];
    const pk = g.input(`past_key_${layer}`, 'float32', shape);
    const pv = g.input(`past_value_${layer}`, 'float32', shape);
    const fk = op.concat([pk, k], 2);
    const fv = op.concat([pv, v], 2);
    this.presents.push(fk, fv);
    return [fk, fv];
  }

  private llamaLayer(h: Value, i: number): Value {
    const { arch } = this;
    const p = `model.layers.${i}`;
    const xn = this.rmsNorm(h, this.param(`${p}.input_layernorm.weight`));
    const bias = arch.attention_bias;
    const q = this.rope(this.heads(this.linear(xn, `${p}.self_attn.q_proj`, 'q_proj', { bias }), arch.num_heads));
    const k0 = this.rope(this.heads(this.linear(xn, `${p}.self_attn.k_proj`, 'k_proj', { bias }), arch.num_kv_heads));
    const v0 = this.heads(this.linear(xn, `${p}.self_attn.v_proj`, 'v_proj', { bias }), arch.num_kv_heads);
    const [k, v] = this.cache(k0, v0, i);
    const att = this.mergeHeads(attention(q, k, v, this.bias, arch.num_heads / arch.num_kv_heads));
    h = op.add(h, this.linear(att, `${p}.self_attn.o_proj`, 'o_proj', { bias: false }));
    const xm = this.rmsNorm(h, this.param(`${p}.post_attention_layernorm.weight`));
    const gate = this.linear(xm, `${p}.mlp.gate_proj`, 'gate_proj', { bias: arch.mlp_bias });
    const up = this.linear(xm, `${p}.mlp.up_proj`, 'up_proj', { bias: arch.mlp_bias });
    const act = op.mul(op.mul(gate, op.sigmoid(gate)), up);
    return op.add(h, this.linear(act, `${p}.mlp.down_proj`, 'down_proj', { bias: arch.mlp_bias }));
  }

  private gpt2Layer(h: Value, i: number): Value {
    const { arch } = this;
    const p = `transformer.h.${i}`;
    const xn = this.layerNorm(h, `${p}.ln_1`);
    const qkv = this.linear(xn, `${p}.attn.c_attn`, 'c_attn', { bias: true, conv1d: true });
    const [q0, k0, v0] = op.split(qkv, [arch.hidden_size, arch.hidden_size, arch.hidden_size], -1);
    const [k, v] = this.cache(this.heads(k0!, arch.num_heads), this.heads(v0!, arch.num_heads), i);
    const att = this.mergeHeads(attention(this.heads(q0!, arch.num_heads), k, v, this.bias, 1));
    h = op.add(h, this.linear(att, `${p}.attn.c_proj`, 'c_proj', { bias: true, conv1d: true }));
    const xm = this.layerNorm(h, `${p}.ln_2`);
    const fc = this.linear(xm, `${p}.mlp.c_fc`, 'c_fc', { bias: true, conv1d: true });
    return op.add(h, this.linear(this.gelu(fc), `${p}.mlp.c_proj`, 'c_proj', { bias: true, conv1d: true }));
  }

  /**
   * BERT / RoBERTa / XLM-R: word + position + token-type-0 embeddings, LayerNorm, then post-LN
   * layers with bidirectional attention (the attn_bias input carries only padding). Names keep the
   * files' prefix (bare BertModel or `bert.` / `roberta.`), so LoRA names merge back into them.
   */
  private bertEncoder(ids: Value): { hidden: Value; head: Value } {
    const { g, o, arch } = this;
    const pre = WEIGHT_PREFIXES.bert.find((p) => o.weights.has(`${p}embeddings.word_embeddings.weight`)) ?? '';
    const positions = g.input('position_ids', 'int64', [o.seq]);
    const words = this.param(`${pre}embeddings.word_embeddings.weight`);
    const tokenType = op.gather(this.param(`${pre}embeddings.token_type_embeddings.weight`), g.ints([0]));
    let h = op.add(op.add(op.gather(words, ids), op.gather(this.param(`${pre}embeddings.position_embeddings.weight`), positions)), tokenType);
    h = this.layerNorm(this.flatten(h), `${pre}embeddings.LayerNorm`);
    for (let i = 0; i < arch.num_layers; i++) {
      const p = `${pre}encoder.layer.${i}`;
      const q = this.heads(this.linear(h, `${p}.attention.self.query`, 'query', { bias: true }), arch.num_heads);
      const k = this.heads(this.linear(h, `${p}.attention.self.key`, 'key', { bias: true }), arch.num_heads);
      const v = this.heads(this.linear(h, `${p}.attention.self.value`, 'value', { bias: true }), arch.num_heads);
      const att = this.mergeHeads(attention(q, k, v, this.bias, 1));
      h = this.layerNorm(op.add(h, this.linear(att, `${p}.attention.output.dense`, 'dense', { bias: true })), `${p}.attention.output.LayerNorm`);
      const inter = this.gelu(this.linear(h, `${p}.intermediate.dense`, 'dense', { bias: true }));
      h = this.layerNorm(op.add(h, this.linear(inter, `${p}.output.dense`, 'dense', { bias: true })), `${p}.output.LayerNorm`);
    }
    return { hidden: h, head: words };
  }

  private gelu(x: Value): Value {
    if (this.arch.hidden_act === 'gelu') return op.mul(op.scale(x, 0.5), op.addScalar(op.erf(op.scale(x, Math.SQRT1_2)), 1));
    // gelu_new / gelu_pytorch_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const inner = op.scale(op.add(x, op.scale(op.mul(op.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return op.mul(op.scale(x, 0.5), op.addScalar(op.tanh(inner), 1));
  }
}
