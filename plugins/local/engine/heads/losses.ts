import type { Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';

/**
 * The losses of the heads, built from differentiable ops (the autodiff tape gives their VJPs).
 * Row weights come from JS already divided by their sum, so every loss is a weighted mean and padded
 * rows (weight 0) train nothing.
 */

/** x / √(Σx² + ε) along the last axis (torch F.normalize up to ε for non-zero rows). */
function l2Normalize(x: Value): Value {
  const norm = op.sqrt(op.addScalar(op.reduceSum(op.mul(x, x), [-1], true), 1e-12));
  return op.mul(x, op.reciprocal(norm));
}

/**
 * Cross-entropy −Σ_b w_b · log softmax(logits_b)[target_b] (logits [R, C], targets [R, 1]). With
 * w_b = class_weight[target_b] / Σ class weights of the batch this is torch's
 * CrossEntropyLoss(weight=…, reduction='mean').
 */
export function weightedCrossEntropy(logits: Value, targets: Value, rowWeights: Value): Value {
  const rows = logits.shape[0] as number;
  const picked = op.reshape(op.pickLogSoftmax(logits, targets), [rows]);
  return op.neg(op.reduceSum(op.mul(picked, rowWeights), [0], false));
}

/**
 * MultipleNegativesRankingLoss (sentence-transformers): scores = scale · cos(anchor_i, candidate_j)
 * over every candidate of the batch (the positives, then the hard negatives), cross-entropy with
 * candidate i as the target of anchor i. `candidateBias` ([1, C], −1e9 on padded candidates) keeps
 * padding out of the softmax.
 */
export function multipleNegativesRanking(anchors: Value, candidates: Value, targets: Value, rowWeights: Value, candidateBias: Value, scale: number): Value {
  const scores = op.add(op.fusedMatMul(l2Normalize(anchors), l2Normalize(candidates), { transB: true, alpha: scale }), candidateBias);
  return weightedCrossEntropy(scores, targets, rowWeights);
}

/** CosineSimilarityLoss (sentence-transformers): mean of (cos(a_i, b_i) − label_i)². */
export function cosineSimilarityLoss(a: Value, b: Value, labels: Value, rowWeights: Value): Value {
  const rows = a.shape[0] as number;
  const cos = op.reshape(op.reduceSum(op.mul(l2Normalize(a), l2Normalize(b)), [-1], true), [rows]);
  const diff = op.sub(cos, labels);
  return op.reduceSum(op.mul(op.mul(diff, diff), rowWeights), [0], false);
}

/** torch's F.pairwise_distance(x, y, p=2) per row, ‖x − y + 1e-6‖ ([R, D] → [R]); the 1e-6 keeps √ off zero for padded rows. */
function pairwiseDistance(x: Value, y: Value): Value {
  const rows = x.shape[0] as number;
  const d = op.addScalar(op.sub(x, y), 1e-6);
  return op.reshape(op.sqrt(op.reduceSum(op.mul(d, d), [-1], true)), [rows]);
}

/**
 * TripletLoss (sentence-transformers, its defaults: Euclidean distance on the raw pooled embeddings,
 * not normalised; margin 5): mean of relu(‖a − p‖ − ‖a − n‖ + margin).
 */
export function tripletMargin(anchors: Value, positives: Value, negatives: Value, rowWeights: Value, margin: number): Value {
  const hinge = op.relu(op.addScalar(op.sub(pairwiseDistance(anchors, positives), pairwiseDistance(anchors, negatives)), margin));
  return op.reduceSum(op.mul(hinge, rowWeights), [0], false);
}
