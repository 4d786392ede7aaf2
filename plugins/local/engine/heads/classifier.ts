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
type HeadTensor = Omit<TrainableInput, 'value'>;

/**
 * The head's tensors for this model, in graph order (dense weight, dense bias, output weight, output
 * bias): a new matrix normal(0, `std`) as transformers initialises one (seeded by its place), a new
 * bias zeros, BERT's pooler copied from the checkpoint when it has one.
 */
export function classifierTensors(arch: ArchConfig, weights: Weights, numLabels: number, std = 0.02): HeadTensor[] {
  const D = arch.hidden_size;
  const normal = (seed: number): TrainableInput['init'] => ({ kind: 'normal', std, seed });
  if (!isEncoder(arch)) return [{ name: SCORE_WEIGHT, shape: [numLabels, D], init: normal(0) }];
  const { dense, out } = encoderHeadModules(arch, weights);
  const fromCheckpoint = (name: string): TrainableInput['init'] | undefined => (weights.has(name) ? { kind: 'weight', source: name } : undefined);
  return [
    { name: `${dense}.weight`, shape: [D, D], init: fromCheckpoint(`${dense}.weight`) ?? normal(0) },
    { name: `${dense}.bias`, shape: [D], init: fromCheckpoint(`${dense}.bias`) ?? { kind: 'zeros' } },
    { name: `${out}.weight`, shape: [numLabels, D], init: normal(2) },
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
export function classifierLogits(g: Graph, pooled: Value, tensors: readonly HeadTensor[], encoder: boolean): { logits: Value; trainable: TrainableInput[] } {
  const trainable = tensors.map((t) => ({ ...t, value: g.input(t.name, 'float32', t.shape, { requiresGrad: true }) }));
  const [first, bias, out, outBias] = trainable.map((t) => t.value);
  if (!encoder) return { logits: op.fusedMatMul(pooled, first!, { transB: true }), trainable };
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
