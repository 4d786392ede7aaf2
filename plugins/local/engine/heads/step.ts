import type * as Ort from 'onnxruntime-node';
import { FinetuneError } from '../../../../src/errors.js';
import { type ArchConfig, archFromConfig, isEncoder } from '../../../../src/models/files/arch.js';
import { gradients } from '../../onnx/autodiff.js';
import { Graph, type Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';
import { attentionBias, checkTokenIds, MASKED, positionFeeds, toInt64 } from '../feeds.js';
import { buildModel, type LoraPlan, type TrainableInput } from '../model-graph.js';
import { createSessionFromGraph, loadOrt } from '../session.js';
import { initialTensors, planLora, type LoraSpec, type TrainableTensor, type TrainStepSpec } from '../train-step.js';
import { classifierLogits, classifierTensors } from './classifier.js';
import { cosineSimilarityLoss, multipleNegativesRanking, tripletMargin, weightedCrossEntropy } from './losses.js';
import { type Pooling, poolHidden, poolMatrix } from './pooling.js';


/** The embedding losses: MultipleNegativesRanking, TripletLoss (margin) and CosineSimilarityLoss, as sentence-transformers names them. */
export type EmbeddingLoss = 'mnrl' | 'triplet' | 'cosine';

/** sentence-transformers' TripletLoss default margin (Euclidean distance). */
const TRIPLET_MARGIN = 5;

export interface HeadStepSpec {
  model: TrainStepSpec['model'];
  approach: 'lora' | 'full';
  lora?: LoraSpec;
  task: 'classification' | 'embedding';
  pooling: Pooling;
  /** Classification: number of classes and (optionally) a weight per class id for the cross-entropy. */
  num_labels?: number;
  class_weights?: number[];
  /** Embedding: MultipleNegativesRanking over (anchor, positive[, negative]), triplet margin loss on triplets, or cosine loss on scored pairs. */
  loss?: EmbeddingLoss;
  /** Embedding: texts per example (2 = pairs, 3 = triplets with a hard negative; 1 = inference, one text a row). */
  group?: 1 | 2 | 3;
  /** Triplet loss margin in Euclidean distance (sentence-transformers' default 5). */
  margin?: number;
  /** MultipleNegativesRanking's similarity scale (sentence-transformers' default 20). */
  scale?: number;
  batch_size: number;
  seq_len: number;
  threads?: number;
  provider?: string;
}

/**
 * A batch of a head step. Classification: B rows, `labels` a class id per row (−1 = padding row).
 * Embedding: group·B rows laid out group-major (B anchors, B positives, B negatives), the first
 * `count` of each group real; `scores` the target similarity of each pair (cosine loss).
 */
export interface HeadBatch {
  input_ids: Int32Array;
  attention_mask: Float32Array;
  labels?: Int32Array;
  count?: number;
  scores?: Float32Array;
}

type StepResult = { loss: number; grads: Float32Array[]; tokens: number; metrics: Record<string, number> };

interface HeadStep {
  trainable: TrainableTensor[];
  trainable_parameters: number;
  /** Bytes of the frozen weights held in the session (the job reports them, as for SFT). */
  initializer_bytes: number;
  missing_targets: string[];
  provider: string;
  step(batch: HeadBatch, params: Float32Array[], opts?: { dropout_seed?: number }): Promise<StepResult>;
  /** loss_sum = loss × examples, tokens = examples (the loop divides), metrics per example. */
  evaluate(batch: HeadBatch, params: Float32Array[]): Promise<{ loss_sum: number; tokens: number; metrics: Record<string, number> }>;
  sequenceLogps(): Promise<Float32Array>;
  dispose(): Promise<void>;
}

interface BuiltHead {
  graph: Graph;
  trainable: TrainableInput[];
  missing_targets: string[];
  usesDropout: boolean;
}

/** Rows of the graph for a batch of `batch_size` examples. */
function graphRows(spec: HeadStepSpec): number {
  return spec.task === 'classification' ? spec.batch_size : (spec.group ?? 2) * spec.batch_size;
}

/**
 * The head's graph over the decoder forward (flat [R·T, D] hidden states): pooling, then the
 * classification head and weighted cross-entropy, or the embedding loss. `train` adds the gradients
 * of every trainable input (LoRA matrices or all weights, plus score.weight); `forward` stops at the
 * logits or embeddings (inference).
 */
export function buildHeadGraph(spec: HeadStepSpec, arch: ArchConfig, lora: LoraPlan | undefined, mode: 'train' | 'eval' | 'forward'): BuiltHead {
  const train = mode === 'train';
  const R = graphRows(spec);
  const T = spec.seq_len;
  const B = spec.batch_size;
  const g = new Graph(`${arch.model_type}_${spec.task}${train ? '_train' : '_eval'}`);
  const plan = lora && !train ? { ...lora, dropout: 0 } : lora;
  const m = buildModel(g, { arch, weights: spec.model.weights, batch: R, seq: T, flat: true, lora: plan, full: spec.approach === 'full' });
  const pooled = poolHidden(g, m.hidden, R, T);
  const trainable = [...m.trainable];
  let loss: Value;
  if (spec.task === 'classification') {
    const std = typeof spec.model.raw_config?.initializer_range === 'number' ? spec.model.raw_config.initializer_range : 0.02;
    const head = classifierLogits(g, pooled, classifierTensors(arch, spec.model.weights, spec.num_labels!, std), isEncoder(arch));
    trainable.push(...head.trainable);
    const logits = head.logits;
    g.output(logits, 'logits');
    if (mode === 'forward') return { graph: g, trainable, missing_targets: m.missing_targets, usesDropout: false };
    loss = weightedCrossEntropy(logits, g.input('targets', 'int64', [R, 1]), g.input('row_weights', 'float32', [R]));
  } else {
    g.output(pooled, 'embeddings');
    if (mode === 'forward') return { graph: g, trainable, missing_targets: m.missing_targets, usesDropout: false };
    const [anchors, candidates] = op.split(pooled, [B, R - B], 0);
    const rowWeights = g.input('row_weights', 'float32', [B]);
    if (spec.loss === 'cosine') {
      loss = cosineSimilarityLoss(anchors!, candidates!, g.input('pair_scores', 'float32', [B]), rowWeights);
    } else if (spec.loss === 'triplet') {
      const [positives, negatives] = op.split(candidates!, [B, B], 0);
      loss = tripletMargin(anchors!, positives!, negatives!, rowWeights, spec.margin ?? TRIPLET_MARGIN);
    } else {
      const targets = g.input('targets', 'int64', [B, 1]);
      loss = multipleNegativesRanking(anchors!, candidates!, targets, rowWeights, g.input('candidate_bias', 'float32', [1, R - B]), spec.scale ?? 20);
    }
  }
  g.output(loss, 'loss');
  if (train) gradients(g, loss, trainable.map((t) => t.value)).forEach((grad, i) => g.output(grad, `grad_${i}`));
  return { graph: g, trainable, missing_targets: m.missing_targets, usesDropout: g.inputs.some((v) => v.name === 'dropout_seed') };
}

function checkSpec(spec: HeadStepSpec): void {
  if (!(spec.batch_size > 0 && spec.seq_len > 1)) throw new FinetuneError('INVALID_INPUT', `batch_size ${spec.batch_size} × seq_len ${spec.seq_len} is not a usable batch shape`, { details: { field: 'batch_size' } });
  if (spec.task === 'classification') {
    const C = spec.num_labels ?? 0;
    if (!Number.isInteger(C) || C < 2) throw new FinetuneError('DATASET_INVALID', `classification needs at least 2 labels; the training split has ${C}`, { details: { field: 'label' } });
    if (spec.class_weights && (spec.class_weights.length !== C || spec.class_weights.some((w) => !(w >= 0)))) {
      throw new FinetuneError('INVALID_INPUT', `class_weights must give a non-negative weight to each of the ${C} labels`, { details: { field: 'class_weights' } });
    }
  } else if (spec.loss === 'cosine' && spec.group !== 2) {
    throw new FinetuneError('INVALID_INPUT', 'the cosine-similarity loss takes scored pairs (group 2)', { details: { field: 'loss' } });
  } else if (spec.loss === 'triplet' && spec.group !== 3) {
    throw new FinetuneError('INVALID_INPUT', 'the triplet margin loss takes triplets (group 3)', { details: { field: 'loss' } });
  }
}

/** The training step of a classification or embedding head over the local engine's decoder graph. */
export async function createHeadStep(spec: HeadStepSpec): Promise<HeadStep> {
  checkSpec(spec);
  const arch = archFromConfig(spec.model.raw_config ?? spec.model.config);
  let lora: LoraPlan | undefined;
  let missing: string[] = [];
  if (spec.approach === 'lora') {
    if (!spec.lora) throw new FinetuneError('INVALID_INPUT', 'approach "lora" needs a lora spec', { details: { field: 'lora' } });
    ({ plan: lora, missing } = planLora(arch, spec.lora));
  }
  const R = graphRows(spec);
  const B = spec.batch_size;
  const T = spec.seq_len;
  const built = buildHeadGraph(spec, arch, lora, 'train');
  const { session: trainSession, provider } = await createSessionFromGraph(built.graph, spec);
  let evalSession: Promise<Ort.InferenceSession> | undefined;
  const ort = await loadOrt();
  const positions = positionFeeds(arch, 0, T);
  const trainable = built.trainable;
  const initial = initialTensors(trainable, spec.model.weights, 0);

  const feeds = (batch: HeadBatch, params: Float32Array[]): { feeds: Record<string, Ort.Tensor>; examples: number; tokens: number } => {
    for (const key of ['input_ids', 'attention_mask'] as const) {
      if (batch[key]?.length !== R * T) throw new FinetuneError('INVALID_INPUT', `batch.${key} has ${batch[key]?.length} values; expected ${R} rows × ${T}`, { details: { field: `batch.${key}` } });
    }
    checkTokenIds(batch.input_ids, arch.vocab_size, 'input_ids');
    const out: Record<string, Ort.Tensor> = {
      input_ids: new ort.Tensor('int64', toInt64(batch.input_ids), [R, T]),
      attn_bias: new ort.Tensor('float32', attentionBias(R, T, 0, batch.attention_mask, arch.sliding_window, !isEncoder(arch)), [R, 1, T, T]),
      pool: new ort.Tensor('float32', poolMatrix(batch.attention_mask, R, T, spec.pooling), [R, R * T]),
    };
    for (const [name, p] of Object.entries(positions)) out[name] = new ort.Tensor(p.data instanceof Float32Array ? 'float32' : 'int64', p.data, p.dims);
    if (params.length !== trainable.length) throw new FinetuneError('INVALID_INPUT', `${params.length} parameter tensors given; expected ${trainable.length}`, { details: { field: 'params' } });
    trainable.forEach((t, i) => (out[t.name] = new ort.Tensor('float32', params[i]!, t.shape)));
    let examples: number;
    if (spec.task === 'classification') {
      const labels = batch.labels;
      if (labels?.length !== B) throw new FinetuneError('INVALID_INPUT', `batch.labels must have ${B} values`, { details: { field: 'batch.labels' } });
      const targets = new BigInt64Array(B);
      const weights = new Float32Array(B);
      let total = 0;
      examples = 0;
      labels.forEach((label, b) => {
        if (label < 0) return;
        if (label >= spec.num_labels!) throw new FinetuneError('INVALID_INPUT', `batch.labels[${b}] = ${label} is not a class id (0…${spec.num_labels! - 1})`, { details: { field: 'batch.labels' } });
        targets[b] = BigInt(label);
        weights[b] = spec.class_weights?.[label] ?? 1;
        total += weights[b]!;
        examples += 1;
      });
      if (total > 0) for (let b = 0; b < B; b++) weights[b]! /= total;
      out.targets = new ort.Tensor('int64', targets, [B, 1]);
      out.row_weights = new ort.Tensor('float32', weights, [B]);
    } else {
      const n = batch.count ?? 0;
      if (!(Number.isInteger(n) && n >= 1 && n <= B)) throw new FinetuneError('INVALID_INPUT', `batch.count must be 1…${B}`, { details: { field: 'batch.count' } });
      examples = n;
      const weights = new Float32Array(B);
      for (let b = 0; b < n; b++) weights[b] = 1 / n;
      out.row_weights = new ort.Tensor('float32', weights, [B]);
      if (spec.loss === 'cosine') {
        if (batch.scores?.length !== B) throw new FinetuneError('INVALID_INPUT', `batch.scores must have ${B} values`, { details: { field: 'batch.scores' } });
        out.pair_scores = new ort.Tensor('float32', batch.scores, [B]);
      } else if (spec.loss !== 'triplet') {
        const targets = new BigInt64Array(B);
        for (let b = 0; b < n; b++) targets[b] = BigInt(b);
        const bias = new Float32Array(R - B);
        for (let j = 0; j < R - B; j++) if (j % B >= n) bias[j] = MASKED;
        out.targets = new ort.Tensor('int64', targets, [B, 1]);
        out.candidate_bias = new ort.Tensor('float32', bias, [1, R - B]);
      }
    }
    const tokens = batch.attention_mask.reduce((a, b) => a + b, 0);
    return { feeds: out, examples, tokens };
  };

  /** Share of real rows whose logits (or in-batch similarity) put the right answer first. */
  const accuracy = (batch: HeadBatch, output: Float32Array, examples: number): number => {
    if (spec.task !== 'classification') return Number.NaN;
    const C = spec.num_labels!;
    let right = 0;
    batch.labels!.forEach((label, b) => {
      if (label < 0) return;
      let best = 0;
      for (let c = 1; c < C; c++) if (output[b * C + c]! > output[b * C + best]!) best = c;
      if (best === label) right += 1;
    });
    return examples > 0 ? right / examples : Number.NaN;
  };

  return {
    trainable: initial,
    trainable_parameters: trainable.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
    initializer_bytes: built.graph.initializerBytes,
    missing_targets: [...new Set([...missing, ...built.missing_targets])],
    provider,
    async step(batch, params, opts = {}) {
      const f = feeds(batch, params);
      if (built.usesDropout) f.feeds.dropout_seed = new ort.Tensor('float32', new Float32Array([((opts.dropout_seed ?? 0) % 9973) * 0.7071]), []);
      const head = spec.task === 'classification' ? 'logits' : 'embeddings';
      const out = await trainSession.run(f.feeds, ['loss', head, ...trainable.map((_, i) => `grad_${i}`)]);
      const loss = (out.loss!.data as Float32Array)[0]!;
      const metrics: Record<string, number> = spec.task === 'classification' ? { accuracy: accuracy(batch, out.logits!.data as Float32Array, f.examples) } : {};
      return { loss, grads: trainable.map((_, i) => out[`grad_${i}`]!.data as Float32Array), tokens: f.tokens, metrics };
    },
    async evaluate(batch, params) {
      evalSession ??= createSessionFromGraph(buildHeadGraph(spec, arch, lora, 'eval').graph, spec).then((r) => r.session);
      const session = await evalSession;
      const f = feeds(batch, params);
      const head = spec.task === 'classification' ? 'logits' : 'embeddings';
      const out = await session.run(f.feeds, ['loss', head]);
      const loss = (out.loss!.data as Float32Array)[0]!;
      const metrics: Record<string, number> = spec.task === 'classification' ? { accuracy: accuracy(batch, out.logits!.data as Float32Array, f.examples) } : {};
      return { loss_sum: loss * f.examples, tokens: f.examples, metrics };
    },
    async sequenceLogps() {
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', `a ${spec.task} head scores no token sequences`);
    },
    async dispose() {
      await trainSession.release();
      if (evalSession) await (await evalSession).release();
    },
  };
}
