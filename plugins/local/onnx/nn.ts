import { GraphBuildError, numel, shapeToString, type Value } from './graph.js';
import { addScalar, fusedMatMul, mul, needsGrad, neg, reciprocal, reduceMean, reduceSum, reshape, sqrt, sub, unbroadcast, zerosLike } from './ops.js';

/**
 * Neural-network ops with their VJPs: softmax family, embedding and per-row lookups, and two fused
 * units (the log-softmax pick behind every token loss, RMSNorm) whose closed-form VJPs save passes.
 */

function fail(op: string, message: string): never {
  throw new GraphBuildError(`${op}: ${message}`);
}

// ---------- softmax family ----------

export function softmax(x: Value, axis = -1): Value {
  const grad = needsGrad(x);
  const [y] = x.graph.node('Softmax', [x], [{ dtype: x.dtype, shape: x.shape, requiresGrad: grad }], { axis });
  if (grad)
    x.graph.record({
      inputs: [x],
      outputs: [y!],
      vjp: ([g]) => [g ? mul(y!, sub(g, reduceSum(mul(g, y!), [axis], true))) : undefined],
    });
  return y!;
}

function logSoftmax(x: Value, axis = -1): Value {
  const grad = needsGrad(x);
  const [y] = x.graph.node('LogSoftmax', [x], [{ dtype: x.dtype, shape: x.shape, requiresGrad: grad }], { axis });
  if (grad)
    x.graph.record({
      inputs: [x],
      outputs: [y!],
      vjp: ([g]) => [g ? sub(g, mul(softmaxOf(x, axis), reduceSum(g, [axis], true))) : undefined],
    });
  return y!;
}

// ---------- indexing ----------

/** Row lookup (embeddings); the VJP scatter-adds rows back (ScatterND reduction add). */
export function gather(data: Value, indices: Value): Value {
  if (data.rank !== 2) fail('Gather', `data must be 2-D, got ${shapeToString(data.shape)}`);
  const shape = [...indices.shape, data.shape[1]!];
  const grad = needsGrad(data);
  const [y] = data.graph.node('Gather', [data, indices], [{ dtype: data.dtype, shape, requiresGrad: grad }], { axis: 0 });
  if (grad)
    data.graph.record({
      inputs: [data, indices],
      outputs: [y!],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined];
        const n = numel(indices.shape);
        if (n === undefined) fail('Gather', 'embedding gradients need static index shapes');
        const idx = reshape(indices, [n, 1]);
        const upd = reshape(g, [n, data.shape[1] as number]);
        const [d] = g.graph.node('ScatterND', [zerosLike(data), idx, upd], [{ dtype: 'float32', shape: data.shape }], { reduction: 'add' });
        return [d!, undefined];
      },
    });
  return y!;
}

/**
 * log softmax(x)[target] per row (x [..., V], targets [..., 1]) as one tape entry. Its VJP is the
 * cross-entropy identity d x = g·(onehot − softmax), emitted as Exp + Mul + one ScatterElements(add),
 * instead of scattering into a zero [.., V] tensor and then backpropagating through LogSoftmax.
 */
export function pickLogSoftmax(x: Value, targets: Value): Value {
  const axis = x.rank - 1;
  const g0 = x.graph;
  const grad = needsGrad(x);
  const was = g0.recording;
  g0.recording = false;
  let y: Value;
  try {
    y = logSoftmax(x, -1);
  } finally {
    g0.recording = was;
  }
  const [picked] = g0.node('GatherElements', [y, targets], [{ dtype: 'float32', shape: targets.shape, requiresGrad: grad }], { axis });
  if (grad)
    g0.record({
      inputs: [x, targets],
      outputs: [picked!],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined];
        // softmax from x by ONNX Runtime's vectorised Softmax: Exp(y) over [.., V] measured ~40× slower on CPU
        const spread = mul(softmaxOf(x, axis), neg(g)); // negate the [.., 1] gradient, not the [.., V] softmax
        const [dx] = g.graph.node('ScatterElements', [spread, targets, g], [{ dtype: 'float32', shape: x.shape }], { axis, reduction: 'add' });
        return [dx!, undefined];
      },
    });
  return picked!;
}

/** Softmax as a plain node (inside a VJP, nothing records it). */
function softmaxOf(x: Value, axis: number): Value {
  return x.graph.node('Softmax', [x], [{ dtype: 'float32', shape: x.shape }], { axis })[0]!;
}

/**
 * log softmax(h · Wᵀ)[target] per row for hidden states h [N, D] and a frozen output matrix W [V, D]
 * (the language-model head), as one tape entry. The VJP goes to h only, in D columns rather than V:
 * dh = g ⊙ (W[target] − softmax(h·Wᵀ) · W). That skips the [N, V] gradient of the logits, its
 * scaling and scatter (two [N, V] tensors: 0.8 GB at SmolLM2's 49152 × 2048), keeping one Softmax
 * and the MatMul that backpropagation through the head needs anyway. A trainable W (full
 * fine-tuning) takes the general path, which also gives dW.
 */
export function headLogProbs(h: Value, w: Value, targets: Value): Value {
  if (w.requiresGrad || h.rank !== 2) return pickLogSoftmax(fusedMatMul(h, w, { transB: true }), targets);
  const g0 = h.graph;
  const was = g0.recording;
  g0.recording = false;
  let logits: Value;
  let picked: Value;
  try {
    logits = fusedMatMul(h, w, { transB: true });
    picked = g0.node('GatherElements', [logSoftmax(logits, -1), targets], [{ dtype: 'float32', shape: targets.shape, requiresGrad: h.requiresGrad }], { axis: 1 })[0]!;
  } finally {
    g0.recording = was;
  }
  if (h.requiresGrad)
    g0.record({
      inputs: [h, w, targets],
      outputs: [picked],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined, undefined];
        const n = h.shape[0] as number;
        const expected = g0.node('MatMul', [softmaxOf(logits, 1), w], [{ dtype: 'float32', shape: h.shape }])[0]!;
        const target = g0.node('Gather', [w, reshape(targets, [n])], [{ dtype: 'float32', shape: h.shape }], { axis: 0 })[0]!;
        return [mul(sub(target, expected), g), undefined, undefined];
      },
    });
  return picked;
}

/**
 * RMSNorm y = x·r·w with r = 1/√(mean(x²) + eps), as one tape entry whose VJP is the closed form
 * dx = r·(g·w − x·r·mean(g·w·x·r)), dw = Σ_rows g·x·r (fewer [.., D] passes than op-by-op autodiff).
 */
export function rmsNorm(x: Value, w: Value, eps: number): Value {
  const g0 = x.graph;
  const grad = needsGrad(x, w);
  const was = g0.recording;
  g0.recording = false;
  let xr: Value;
  let r: Value;
  try {
    const ms = reduceMean(mul(x, x), [-1], true);
    r = reciprocal(sqrt(addScalar(ms, eps)));
    xr = mul(x, r);
  } finally {
    g0.recording = was;
  }
  const [y] = g0.node('Mul', [xr, w], [{ dtype: 'float32', shape: x.shape, requiresGrad: grad }]);
  if (grad)
    g0.record({
      inputs: [x, w],
      outputs: [y!],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined];
        const gw = mul(g, w);
        const dx = x.requiresGrad ? mul(sub(gw, mul(xr, reduceMean(mul(gw, xr), [-1], true))), r) : undefined;
        const dw = w.requiresGrad ? unbroadcast(mul(g, xr), w.shape) : undefined;
        return [dx, dw];
      },
    });
  return y!;
}
