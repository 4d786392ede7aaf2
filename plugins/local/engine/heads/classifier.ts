import { FinetuneError } from '../../../../src/errors.js';
import { isEncoder, type ArchConfig } from '../../../../src/models/files/arch.js';
import { WEIGHT_PREFIXES } from '../../../../src/models/files/expected-weights.js';
import { SCORE_WEIGHT } from '../../../../src/models/files/head-folder.js';
import type { Graph, Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';
import type { TrainableInput, Weights } from '../model-graph.js';

/**
 * The classification head on the pooled hidden state, as transformers builds it:
 * - a decoder (LlamaForSequenceClassification, GPT2…, Qwen2…): `logits = pooled · score.weightᵀ`, no bias;
 * - BERT (BertForSequenceClassification): the pooler `tanh(pooled · Wᵀ + b)` (`bert.pooler.dense`, taken
 *   from the checkpoint when it has one), then `classifier` with a bias;
 * - RoBERTa / XLM-R (RobertaClassificationHead): `classifier.dense` + tanh, then `classifier.out_proj`,
 *   both new.
 * Every head tensor is trained whole (PEFT's modules_to_save) beside LoRA or full fine-tuning.
 */
interface HeadTensor {
  name: string;
  shape: number[];
  /** normal(0, initializer_range) or zeros for a new tensor; `from` copies the checkpoint's tensor. */
  init: { kind: 'normal' } | { kind: 'zeros' } | { kind: 'weight'; source: string };
}

/** The head's tensors for this model, in graph order (dense weight, dense bias, output weight, output bias). */
export function classifierTensors(arch: ArchConfig, weights: Weights, numLabels: number): HeadTensor[] {
  const D = arch.hidden_size;
  if (!isEncoder(arch)) return [{ name: SCORE_WEIGHT, shape: [numLabels, D], init: { kind: 'normal' } }];
  const { dense, out } = encoderHeadModules(arch, weights);
  const fromCheckpoint = (name: string): HeadTensor['init'] | undefined => (weights.has(name) ? { kind: 'weight', source: name } : undefined);
  return [
    { name: `${dense}.weight`, shape: [D, D], init: fromCheckpoint(`${dense}.weight`) ?? { kind: 'normal' } },
    { name: `${dense}.bias`, shape: [D], init: fromCheckpoint(`${dense}.bias`) ?? { kind: 'zeros' } },
    { name: `${out}.weight`, shape: [numLabels, D], init: { kind: 'normal' } },
    { name: `${out}.bias`, shape: [numLabels], init: { kind: 'zeros' } },
  ];
}

/**
 * Module names of an encoder's head. BERT's pooler keeps the checkpoint's prefix (bare BertModel or
 * `bert.`); a checkpoint that is already a classifier keeps its names.
 */
function encoderHeadModules(arch: ArchConfig, weights: Weights): { dense: string; out: string } {
  if (arch.model_type === 'bert') {
    const pre = WEIGHT_PREFIXES.bert.find((p) => weights.has(`${p}embeddings.word_embeddings.weight`)) ?? '';
    return { dense: `${pre}pooler.dense`, out: 'classifier' };
  }
  return { dense: 'classifier.dense', out: 'classifier.out_proj' };
}

/** Graph side: the head's tensors as inputs (trainable when training) and the logits [R, C]. */
export function classifierLogits(g: Graph, arch: ArchConfig, pooled: Value, tensors: readonly HeadTensor[]): { logits: Value; trainable: TrainableInput[] } {
  const trainable = tensors.map((t) => {
    const value = g.input(t.name, 'float32', t.shape, { requiresGrad: true });
    return { name: t.name, value, shape: t.shape, init: t.init.kind === 'weight' ? t.init : { kind: 'zeros' as const } };
  });
  const [first, bias, out, outBias] = trainable.map((t) => t.value);
  if (!isEncoder(arch)) return { logits: op.fusedMatMul(pooled, first!, { transB: true }), trainable };
  const hidden = op.tanh(op.add(op.fusedMatMul(pooled, first!, { transB: true }), bias!));
  return { logits: op.add(op.fusedMatMul(hidden, out!, { transB: true }), outBias!), trainable };
}

/** The head's tensors from a loaded classifier's weights, refused by name when one is missing. */
export function classifierWeights(arch: ArchConfig, weights: Weights, numLabels: number, where: string): Array<{ name: string; shape: number[]; data: Float32Array }> {
  return classifierTensors(arch, weights, numLabels).map((t) => {
    const tensor = weights.get(t.name);
    if (!tensor) throw new FinetuneError('MODEL_UNSUPPORTED', `The classifier in ${where} has no ${t.name}.`, { details: { file: where, field: t.name } });
    return { name: t.name, shape: tensor.shape, data: tensor.data };
  });
}
