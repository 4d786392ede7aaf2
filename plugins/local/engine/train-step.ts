import type * as Ort from 'onnxruntime-node';
import { FinetuneError } from '../../../src/errors.js';
import type { LoadedModel } from '../../../src/models/files/load-model.js';
import { gradients } from '../onnx/autodiff.js';
import { Graph } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { type ArchConfig, archFromConfig, LINEAR_MODULES } from '../../../src/models/files/arch.js';
import { attentionBias, checkTokenIds, positionFeeds, shiftTargets, toInt64 } from './feeds.js';
import { buildModel, type LoraPlan, type TrainableInput } from './model-graph.js';
import { createSessionFromGraph, loadOrt } from './session.js';
import { mulberry32 } from '../../../src/random.js';
import { type Nf4Linears, quantizeLinears } from './quant/nf4-linear.js';

export interface LoraSpec {
  r: number;
  alpha: number;
  dropout: number;
  target_modules: string[] | 'all-linear';
  use_rslora: boolean;
  on_missing_target: 'error' | 'continue';
}

export interface TrainStepSpec {
  model: Pick<LoadedModel, 'config' | 'weights'> & { raw_config?: Record<string, unknown> };
  /** qlora: LoRA over frozen linear weights held as NF4 (quant/nf4-linear.ts). */
  approach: 'lora' | 'qlora' | 'full';
  lora?: LoraSpec;
  method: 'sft' | 'dpo';
  dpo_beta?: number;
  batch_size: number;
  seq_len: number;
  threads?: number;
  provider?: string;
  /** Benchmarks: write an ONNX Runtime profile of the training session with this file prefix. */
  profile_prefix?: string;
  /** Weights above this many bytes go to ONNX external data (default 1.5 GB; tests lower it). */
  external_data_threshold?: number;
  /** true: intra-op threads spin while idle (ORT's default; see SessionOptions.allow_spinning). */
  allow_spinning?: boolean;
}

export interface TrainableTensor {
  /** PEFT name for LoRA (…q_proj.lora_A.weight), Hugging Face name for full fine-tuning. */
  name: string;
  shape: number[];
  /** LoRA: A kaiming-uniform (seeded), B zeros, as PEFT; full: a copy of the weight. */
  init: Float32Array;
}

export interface SftBatch {
  /** [B·T], row-major, padded. */
  input_ids: Int32Array;
  /** [B·T]: 1 where the token at position t is a target predicted from t-1. */
  loss_mask: Float32Array;
  /** [B·T]: 1 = real token. */
  attention_mask: Float32Array;
}

export interface DpoBatch {
  chosen: SftBatch;
  rejected: SftBatch;
  reference_chosen_logps: Float32Array;
  reference_rejected_logps: Float32Array;
}

export interface TrainStep {
  trainable: TrainableTensor[];
  trainable_parameters: number;
  missing_targets: string[];
  provider: string;
  /** Bytes of initializers (frozen weights and constants) the training graph hands the session. */
  initializer_bytes: number;
  /** QLoRA: bytes of the NF4 weights, and what the same weights take in float32. */
  quantized?: { weights: number; nf4_bytes: number; float32_bytes: number };
  /** loss = mean over masked tokens (SFT) or mean DPO sigmoid loss; grads follow `trainable`. */
  step(batch: SftBatch | DpoBatch, params: Float32Array[], opts?: { dropout_seed?: number }): Promise<{ loss: number; grads: Float32Array[]; tokens: number; metrics: Record<string, number> }>;
  /** SFT: summed token NLL and token count. DPO: summed pair loss, `tokens` = number of pairs. */
  evaluate(batch: SftBatch | DpoBatch, params: Float32Array[]): Promise<{ loss_sum: number; tokens: number; metrics: Record<string, number> }>;
  /** Per-row sums of log p(target) over masked tokens; params null = adapters off (the reference model). */
  sequenceLogps(batch: SftBatch, params: Float32Array[] | null): Promise<Float32Array>;
  seed(seed: number): TrainableTensor[];
  dispose(): Promise<void>;
  /** With spec.profile_prefix: ends profiling; ONNX Runtime writes <prefix>_<timestamp>.json. */
  endProfiling?(): void;
}

type Mode = 'sft' | 'dpo' | 'logps';

interface BuiltGraph {
  graph: Graph;
  trainable: TrainableInput[];
  missing_targets: string[];
  usesDropout: boolean;
}

/** Resolves the LoRA plan: which modules get adapters and which asked-for ones do not exist. */
export function planLora(arch: ArchConfig, lora: LoraSpec): { plan: LoraPlan; missing: string[] } {
  if (!Number.isInteger(lora.r) || lora.r <= 0) throw new FinetuneError('INVALID_INPUT', `lora.r must be a positive integer, got ${lora.r}`, { details: { field: 'lora.r' } });
  if (!(lora.dropout >= 0 && lora.dropout < 1)) throw new FinetuneError('INVALID_INPUT', `lora.dropout must be in [0, 1), got ${lora.dropout}`, { details: { field: 'lora.dropout' } });
  const known = LINEAR_MODULES[arch.family];
  const requested = lora.target_modules === 'all-linear' ? [...known] : lora.target_modules;
  const missing = requested.filter((m) => !known.includes(m));
  const present = requested.filter((m) => known.includes(m));
  if ((missing.length && lora.on_missing_target === 'error') || !present.length) {
    throw new FinetuneError(
      present.length ? 'INVALID_INPUT' : 'MODEL_UNSUPPORTED',
      `LoRA target modules ${missing.map((m) => `"${m}"`).join(', ') || '(none)'} do not exist in ${arch.model_type}${present.length ? '' : ', so nothing would train'}; its linear modules are ${known.join(', ')}`,
      { details: { field: 'lora.target_modules' }, recovery: `Use target_modules from: ${known.join(', ')} (or "all-linear")${present.length ? ", or set on_missing_target to 'continue'" : ''}.` },
    );
  }
  const scale = lora.use_rslora ? lora.alpha / Math.sqrt(lora.r) : lora.alpha / lora.r;
  return { plan: { r: lora.r, scale, dropout: lora.dropout, targets: new Set(present) }, missing };
}

function buildStepGraph(spec: TrainStepSpec, arch: ArchConfig, lora: LoraPlan | undefined, mode: Mode, rows: number, quant?: Nf4Linears): BuiltGraph {
  const T = spec.seq_len;
  const N = rows * T;
  const g = new Graph(`${arch.model_type}_${mode}`);
  const plan = lora && mode === 'logps' ? { ...lora, dropout: 0 } : lora;
  const m = buildModel(g, { arch, weights: spec.model.weights, batch: rows, seq: T, flat: true, lora: plan, full: spec.approach === 'full', frozenLinear: quant?.linear });
  const targets = g.input('targets', 'int64', [N, 1]);
  const weights = g.input('weights', 'float32', [N]);
  const picked = op.headLogProbs(m.hidden, m.head, targets);
  const tokenLogps = op.mul(op.reshape(picked, [N]), weights);
  let loss;
  if (mode === 'sft') loss = op.neg(op.reduceSum(tokenLogps, [0], false));
  else {
    const rowLogps = op.reduceSum(op.reshape(tokenLogps, [rows, T]), [1], false);
    g.output(rowLogps, 'row_logps');
    if (mode === 'dpo') {
      const pairs = rows / 2;
      const [chosen, rejected] = op.split(rowLogps, [pairs, pairs], 0);
      const refMargin = g.input('ref_margin', 'float32', [pairs]);
      const z = op.scale(op.sub(op.sub(chosen!, rejected!), refMargin), spec.dpo_beta ?? 0.1);
      loss = op.reduceMean(op.softplus(op.neg(z)), [0], false);
    }
  }
  if (loss) {
    g.output(loss, 'loss');
    const grads = gradients(g, loss, m.trainable.map((t) => t.value));
    grads.forEach((grad, i) => g.output(grad, `grad_${i}`));
  }
  return { graph: g, trainable: m.trainable, missing_targets: m.missing_targets, usesDropout: g.inputs.some((v) => v.name === 'dropout_seed') };
}


/** Initial values of the trainable tensors: LoRA A kaiming-uniform from `seed`, B zeros (as PEFT), full fine-tuning a copy of each weight. */
/** A new head's weights as transformers initialises them: normal(0, std) (Box–Muller), seeded. */
function normalInit(size: number, std: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

export function initialTensors(trainable: readonly TrainableInput[], weights: TrainStepSpec['model']['weights'], seed: number): TrainableTensor[] {
  const next = mulberry32(seed);
  return trainable.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    let init: Float32Array;
    if (t.init.kind === 'lora_A') {
      const bound = 1 / Math.sqrt(t.init.fan_in); // kaiming_uniform_(a=√5), as PEFT
      init = new Float32Array(size);
      for (let i = 0; i < size; i++) init[i] = (2 * next() - 1) * bound;
    } else if (t.init.kind === 'zeros') init = new Float32Array(size);
    else if (t.init.kind === 'normal') init = normalInit(size, t.init.std, t.init.seed);
    else init = Float32Array.from(weights.get(t.init.source)!.data);
    return { name: t.name, shape: [...t.shape], init };
  });
}

export async function createTrainStep(spec: TrainStepSpec): Promise<TrainStep> {
  const arch = archFromConfig(spec.model.raw_config ?? spec.model.config);
  if (!(spec.batch_size > 0 && spec.seq_len > 1)) throw new FinetuneError('INVALID_INPUT', `batch_size ${spec.batch_size} × seq_len ${spec.seq_len} is not a usable batch shape`, { details: { field: 'batch_size' } });
  if (spec.method === 'dpo' && !(spec.dpo_beta === undefined || spec.dpo_beta > 0)) throw new FinetuneError('INVALID_INPUT', 'dpo_beta must be positive', { details: { field: 'dpo_beta' } });
  let lora: LoraPlan | undefined;
  let missing: string[] = [];
  if (spec.approach === 'lora' || spec.approach === 'qlora') {
    if (!spec.lora) throw new FinetuneError('INVALID_INPUT', `approach "${spec.approach}" needs a lora spec`, { details: { field: 'lora' } });
    ({ plan: lora, missing } = planLora(arch, spec.lora));
  }
  const B = spec.batch_size;
  const T = spec.seq_len;
  const trainRows = spec.method === 'dpo' ? 2 * B : B;
  const quant = spec.approach === 'qlora' ? quantizeLinears(spec.model.weights, LINEAR_MODULES[arch.family], arch.family === 'gpt2') : undefined;
  const built = buildStepGraph(spec, arch, lora, spec.method, trainRows, quant);
  const { session: trainSession, provider } = await createSessionFromGraph(built.graph, spec);
  const logpsSessions = new Map<number, Promise<Ort.InferenceSession>>();
  const ort = await loadOrt();
  const trainable = built.trainable;
  const positions = positionFeeds(arch, 0, T);

  const seed = (s: number): TrainableTensor[] => initialTensors(trainable, spec.model.weights, s);
  const initial = seed(0);
  const baseParams = spec.approach === 'full' ? initial.map((t) => t.init) : trainable.map((t) => new Float32Array(t.shape.reduce((a, b) => a * b, 1)));

  const checkRows = (batch: SftBatch, rows: number, field: string): void => {
    for (const key of ['input_ids', 'loss_mask', 'attention_mask'] as const) {
      if (batch[key]?.length !== rows * T) {
        throw new FinetuneError('INVALID_INPUT', `${field}.${key} has ${batch[key]?.length} values; expected ${rows} rows × ${T} = ${rows * T}`, { details: { field: `${field}.${key}` } });
      }
    }
  };
  const joinRows = (a: SftBatch, b: SftBatch): SftBatch => ({
    input_ids: Int32Array.from([...a.input_ids, ...b.input_ids]),
    loss_mask: Float32Array.from([...a.loss_mask, ...b.loss_mask]),
    attention_mask: Float32Array.from([...a.attention_mask, ...b.attention_mask]),
  });

  const feeds = (batch: SftBatch, rows: number, params: Float32Array[], weightScale: number | 'count'): { feeds: Record<string, Ort.Tensor>; tokens: number } => {
    checkTokenIds(batch.input_ids, arch.vocab_size, 'input_ids');
    const { targets, weights, tokens } = shiftTargets(batch.input_ids, batch.loss_mask, rows, T);
    if (weightScale === 'count') {
      if (tokens <= 0) throw new FinetuneError('INVALID_INPUT', 'the batch has no target tokens (loss_mask is 0 everywhere)', { details: { field: 'loss_mask' } });
      for (let i = 0; i < weights.length; i++) weights[i]! /= tokens;
    }
    const out: Record<string, Ort.Tensor> = {
      input_ids: new ort.Tensor('int64', toInt64(batch.input_ids), [rows, T]),
      attn_bias: new ort.Tensor('float32', attentionBias(rows, T, 0, batch.attention_mask, arch.sliding_window), [rows, 1, T, T]),
      targets: new ort.Tensor('int64', targets, [rows * T, 1]),
      weights: new ort.Tensor('float32', weights, [rows * T]),
    };
    for (const [name, p] of Object.entries(positions)) out[name] = new ort.Tensor(p.data instanceof Float32Array ? 'float32' : 'int64', p.data, p.dims);
    if (params.length !== trainable.length) throw new FinetuneError('INVALID_INPUT', `${params.length} parameter tensors given; expected ${trainable.length}`, { details: { field: 'params' } });
    trainable.forEach((t, i) => {
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (params[i]!.length !== size) throw new FinetuneError('INVALID_INPUT', `params[${i}] (${t.name}) has ${params[i]!.length} values; expected ${size}`, { details: { field: `params[${i}]` } });
      out[t.name] = new ort.Tensor('float32', params[i]!, t.shape);
    });
    return { feeds: out, tokens };
  };

  const logpsSession = (rows: number): Promise<Ort.InferenceSession> => {
    let s = logpsSessions.get(rows);
    if (!s) {
      s = createSessionFromGraph(buildStepGraph(spec, arch, lora, 'logps', rows, quant).graph, { threads: spec.threads, provider: spec.provider, external_data_threshold: spec.external_data_threshold, allow_spinning: spec.allow_spinning }).then((r) => r.session);
      logpsSessions.set(rows, s);
    }
    return s;
  };
  const rowLogps = async (batch: SftBatch, rows: number, params: Float32Array[]): Promise<{ logps: Float32Array; tokens: number }> => {
    const session = await logpsSession(rows);
    const f = feeds(batch, rows, params, 1);
    if (session.inputNames.includes('dropout_seed')) f.feeds.dropout_seed = new ort.Tensor('float32', new Float32Array([0]), []);
    const out = await session.run(f.feeds, ['row_logps']);
    return { logps: out.row_logps!.data as Float32Array, tokens: f.tokens };
  };

  const beta = spec.dpo_beta ?? 0.1;
  const dpoMetrics = (policy: Float32Array, batch: DpoBatch): { metrics: Record<string, number>; losses: number[] } => {
    let acc = 0;
    let margin = 0;
    let chosenReward = 0;
    let rejectedReward = 0;
    const losses: number[] = [];
    for (let b = 0; b < B; b++) {
      const c = beta * (policy[b]! - batch.reference_chosen_logps[b]!);
      const r = beta * (policy[B + b]! - batch.reference_rejected_logps[b]!);
      acc += c > r ? 1 : 0;
      margin += c - r;
      chosenReward += c;
      rejectedReward += r;
      const z = c - r;
      losses.push(Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z))));
    }
    return { metrics: { reward_accuracy: acc / B, reward_margin: margin / B, chosen_reward: chosenReward / B, rejected_reward: rejectedReward / B }, losses };
  };
  const checkDpo = (batch: DpoBatch): SftBatch => {
    checkRows(batch.chosen, B, 'chosen');
    checkRows(batch.rejected, B, 'rejected');
    if (batch.reference_chosen_logps?.length !== B || batch.reference_rejected_logps?.length !== B) {
      throw new FinetuneError('INVALID_INPUT', `reference log-probs must have ${B} values each`, { details: { field: 'reference_chosen_logps' } });
    }
    return joinRows(batch.chosen, batch.rejected);
  };

  return {
    trainable: initial,
    trainable_parameters: trainable.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
    missing_targets: [...new Set([...missing, ...built.missing_targets])],
    provider,
    initializer_bytes: built.graph.initializerBytes,
    ...(quant ? { quantized: { weights: quant.count, nf4_bytes: quant.bytes.nf4, float32_bytes: quant.bytes.float32 } } : {}),
    seed,
    async step(batch, params, opts = {}) {
      let f: { feeds: Record<string, Ort.Tensor>; tokens: number };
      let dpo: DpoBatch | undefined;
      if (spec.method === 'dpo') {
        if (!('chosen' in batch)) throw new FinetuneError('INVALID_INPUT', 'a DPO step needs {chosen, rejected, reference_*_logps}', { details: { field: 'batch' } });
        dpo = batch;
        f = feeds(checkDpo(batch), trainRows, params, 1);
        const margin = new Float32Array(B);
        for (let b = 0; b < B; b++) margin[b] = batch.reference_chosen_logps[b]! - batch.reference_rejected_logps[b]!;
        f.feeds.ref_margin = new ort.Tensor('float32', margin, [B]);
      } else {
        if ('chosen' in batch) throw new FinetuneError('INVALID_INPUT', 'an SFT step needs {input_ids, loss_mask, attention_mask}', { details: { field: 'batch' } });
        checkRows(batch, B, 'batch');
        f = feeds(batch, B, params, 'count');
      }
      if (built.usesDropout) f.feeds.dropout_seed = new ort.Tensor('float32', new Float32Array([((opts.dropout_seed ?? 0) % 9973) * 0.7071]), []);
      const names = ['loss', ...trainable.map((_, i) => `grad_${i}`), ...(dpo ? ['row_logps'] : [])];
      const out = await trainSession.run(f.feeds, names);
      const loss = (out.loss!.data as Float32Array)[0]!;
      const grads = trainable.map((_, i) => out[`grad_${i}`]!.data as Float32Array);
      const metrics = dpo ? dpoMetrics(out.row_logps!.data as Float32Array, dpo).metrics : {};
      return { loss, grads, tokens: f.tokens, metrics };
    },
    async evaluate(batch, params) {
      if ('chosen' in batch) {
        const { logps, tokens } = await rowLogps(checkDpo(batch), 2 * B, params);
        const { metrics, losses } = dpoMetrics(logps, batch);
        return { loss_sum: losses.reduce((a, b) => a + b, 0), tokens: B, metrics: { ...metrics, target_tokens: tokens } };
      }
      checkRows(batch, B, 'batch');
      const { logps, tokens } = await rowLogps(batch, B, params);
      return { loss_sum: -logps.reduce((a, b) => a + b, 0), tokens, metrics: {} };
    },
    async sequenceLogps(batch, params) {
      const rows = batch.input_ids.length / T;
      if (!Number.isInteger(rows) || rows < 1) throw new FinetuneError('INVALID_INPUT', `input_ids length ${batch.input_ids.length} is not a multiple of seq_len ${T}`, { details: { field: 'input_ids' } });
      checkRows(batch, rows, 'batch');
      return (await rowLogps(batch, rows, params ?? baseParams)).logps;
    },
    ...(spec.profile_prefix ? { endProfiling: () => trainSession.endProfiling() } : {}),
    async dispose() {
      await trainSession.release();
      for (const s of logpsSessions.values()) await (await s).release();
      logpsSessions.clear();
    },
  };
}
