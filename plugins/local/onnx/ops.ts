import { type Dim, GraphBuildError, MS_DOMAIN, numel, shapeToString, type Value } from './graph.js';

/**
 * Typed ONNX ops with build-time shape checks. Every differentiable op records its
 * vector-Jacobian product on the graph's tape, emitted as ONNX nodes by `gradients()`.
 */

function fail(op: string, message: string): never {
  throw new GraphBuildError(`${op}: ${message}`);
}

export function needsGrad(...values: Value[]): boolean {
  return values.some((v) => v.requiresGrad) && values[0]!.graph.recording;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function broadcastShapes(op: string, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'number' && typeof db === 'number') fail(op, `cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}`);
    else out.push(typeof da === 'number' ? da : db);
  }
  return out;
}

/** Sums a gradient back down to the shape of an operand that was broadcast. */
export function unbroadcast(g: Value, shape: readonly Dim[]): Value {
  const lead = g.rank - shape.length;
  let out = g;
  if (lead > 0) out = reduceSum(out, [...Array(lead).keys()], false);
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) if (shape[i] === 1 && out.shape[i] !== 1) axes.push(i);
  return axes.length ? reduceSum(out, axes, true) : out;
}

// ---------- elementwise ----------

type Binary = 'Add' | 'Sub' | 'Mul' | 'Div';

function binary(op: Binary, a: Value, b: Value): Value {
  if (a.dtype !== b.dtype) fail(op, `dtype ${a.dtype} vs ${b.dtype}`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const grad = needsGrad(a, b);
  const [y] = a.graph.node(op, [a, b], [{ dtype: a.dtype, shape, requiresGrad: grad }]);
  if (grad)
    a.graph.record({
      inputs: [a, b],
      outputs: [y!],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined];
        const ga = a.requiresGrad ? unbroadcast(op === 'Mul' ? mul(g, b) : op === 'Div' ? div(g, b) : g, a.shape) : undefined;
        let gb: Value | undefined;
        if (b.requiresGrad) {
          if (op === 'Add') gb = unbroadcast(g, b.shape);
          else if (op === 'Sub') gb = unbroadcast(neg(g), b.shape);
          else if (op === 'Mul') gb = unbroadcast(mul(g, a), b.shape);
          else gb = unbroadcast(neg(div(mul(g, y!), b)), b.shape);
        }
        return [ga, gb];
      },
    });
  return y!;
}

export const add = (a: Value, b: Value): Value => binary('Add', a, b);
export const sub = (a: Value, b: Value): Value => binary('Sub', a, b);
export const mul = (a: Value, b: Value): Value => binary('Mul', a, b);
const div = (a: Value, b: Value): Value => binary('Div', a, b);
export const scale = (a: Value, s: number): Value => mul(a, a.graph.scalar(s));
export const addScalar = (a: Value, s: number): Value => add(a, a.graph.scalar(s));

type Unary = 'Neg' | 'Sqrt' | 'Reciprocal' | 'Exp' | 'Log' | 'Sigmoid' | 'Tanh' | 'Erf' | 'Softplus' | 'Relu';

function unary(op: Unary, x: Value, vjp: (g: Value, y: Value) => Value): Value {
  const grad = needsGrad(x);
  const [y] = x.graph.node(op, [x], [{ dtype: x.dtype, shape: x.shape, requiresGrad: grad }]);
  if (grad) x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? vjp(g, y!) : undefined] });
  return y!;
}

export const neg = (x: Value): Value => unary('Neg', x, (g) => neg(g));
export const sqrt = (x: Value): Value => unary('Sqrt', x, (g, y) => div(scale(g, 0.5), y));
export const reciprocal = (x: Value): Value => unary('Reciprocal', x, (g, y) => neg(mul(g, mul(y, y))));
const exp = (x: Value): Value => unary('Exp', x, (g, y) => mul(g, y));
export const sigmoid = (x: Value): Value => unary('Sigmoid', x, (g, y) => mul(g, mul(y, sub(x.graph.scalar(1), y))));
export const tanh = (x: Value): Value => unary('Tanh', x, (g, y) => mul(g, sub(x.graph.scalar(1), mul(y, y))));
export const erf = (x: Value): Value =>
  unary('Erf', x, (g) => mul(g, scale(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
export const softplus = (x: Value): Value => unary('Softplus', x, (g) => mul(g, sigmoid(x)));
/** max(x, 0); its VJP passes g where x > 0 (sign(y) is 1 there, 0 elsewhere: torch's gradient at 0 is 0 too). */
export const relu = (x: Value): Value => unary('Relu', x, (g, y) => mul(g, x.graph.node('Sign', [y], [{ dtype: y.dtype, shape: y.shape }])[0]!));

// ---------- matrix products ----------

function matmulShape(op: string, a: readonly Dim[], b: readonly Dim[], transA: boolean, transB: boolean): Dim[] {
  if (a.length < 2 || b.length < 2) fail(op, `needs rank ≥ 2, got ${shapeToString(a)} and ${shapeToString(b)}`);
  const m = a[a.length - (transA ? 1 : 2)]!;
  const ka = a[a.length - (transA ? 2 : 1)]!;
  const kb = b[b.length - (transB ? 1 : 2)]!;
  const n = b[b.length - (transB ? 2 : 1)]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) fail(op, `inner dims differ: ${shapeToString(a)} × ${shapeToString(b)}`);
  const batch = broadcastShapes(op, a.slice(0, -2), b.slice(0, -2));
  return [...batch, m, n];
}

export function matmul(a: Value, b: Value): Value {
  return fusedMatMul(a, b, { transA: false, transB: false, alpha: 1 });
}

/** Y = alpha · op(A) · op(B) (com.microsoft FusedMatMul), so frozen weights need no transposed copy. */
export function fusedMatMul(a: Value, b: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number }): Value {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const shape = matmulShape('MatMul', a.shape, b.shape, transA, transB);
  const grad = needsGrad(a, b);
  const plain = !transA && !transB && alpha === 1;
  const [y] = plain
    ? a.graph.node('MatMul', [a, b], [{ dtype: 'float32', shape, requiresGrad: grad }])
    : a.graph.node('FusedMatMul', [a, b], [{ dtype: 'float32', shape, requiresGrad: grad }], { transA: +transA, transB: +transB, alpha: { float: alpha } }, MS_DOMAIN);
  if (grad) {
    if (transA) fail('FusedMatMul', 'gradients through transA are not supported (no model graph needs them)');
    if (a.rank !== b.rank) {
      if (b.requiresGrad) fail('MatMul', `gradient to a broadcast right operand ${shapeToString(b.shape)} is not supported; flatten to 2-D`);
    }
    a.graph.record({
      inputs: [a, b],
      outputs: [y!],
      vjp: ([g]) => {
        if (!g) return [undefined, undefined];
        // Y = A·B:   dA = g·Bᵀ, dB = Aᵀ·g.   Y = A·Bᵀ:   dA = g·B, dB = gᵀ·A.
        const ga = a.requiresGrad ? unbroadcast(fusedMatMul(g, b, { transB: !transB, alpha }), a.shape) : undefined;
        const gb = b.requiresGrad ? (transB ? fusedMatMul(g, a, { transA: true, alpha }) : fusedMatMul(a, g, { transA: true, alpha })) : undefined;
        return [ga, gb];
      },
    });
  }
  return y!;
}

// ---------- shapes ----------

/**
 * Reshape with ONNX semantics for `dims` (0 copies the input dim, -1 infers); `shape` optionally
 * states the resulting (possibly symbolic) shape for the checks that follow.
 */
export function reshape(x: Value, dims: readonly number[], shape?: readonly Dim[]): Value {
  const out: Dim[] = shape ? [...shape] : dims.map((d, i) => (d === 0 ? x.shape[i]! : d));
  if (!shape && dims.includes(-1)) {
    const total = numel(x.shape);
    const known = numel(out.filter((d) => d !== -1));
    if (total === undefined || known === undefined) fail('Reshape', `cannot infer -1 in [${dims.join(',')}] from ${shapeToString(x.shape)}; state the shape`);
    out[dims.indexOf(-1)] = total / known;
  }
  const total = numel(x.shape);
  const after = numel(out);
  if (total !== undefined && after !== undefined && total !== after) fail('Reshape', `${shapeToString(x.shape)} has ${total} values, [${out.join(',')}] has ${after}`);
  const grad = needsGrad(x);
  const [y] = x.graph.node('Reshape', [x, x.graph.ints(dims)], [{ dtype: x.dtype, shape: out, requiresGrad: grad }]);
  if (grad) x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? reshapeLike(g, x) : undefined] });
  return y!;
}

/** Reshapes g to x's shape, statically when x's shape is known. */
function reshapeLike(g: Value, x: Value): Value {
  if (numel(x.shape) !== undefined) return reshape(g, x.shape as number[]);
  const [s] = g.graph.node('Shape', [x], [{ dtype: 'int64', shape: [x.rank] }]);
  const [y] = g.graph.node('Reshape', [g, s!], [{ dtype: g.dtype, shape: x.shape }]);
  return y!;
}

export function transpose(x: Value, perm: readonly number[]): Value {
  if (perm.length !== x.rank) fail('Transpose', `perm [${perm.join(',')}] for ${shapeToString(x.shape)}`);
  const grad = needsGrad(x);
  const [y] = x.graph.node('Transpose', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!), requiresGrad: grad }], { perm: [...perm] });
  if (grad) {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? transpose(g, inverse) : undefined] });
  }
  return y!;
}

export function expand(x: Value, shape: readonly number[]): Value {
  const out = broadcastShapes('Expand', x.shape, shape);
  const grad = needsGrad(x);
  const [y] = x.graph.node('Expand', [x, x.graph.ints(shape)], [{ dtype: x.dtype, shape: out, requiresGrad: grad }]);
  if (grad) x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? unbroadcast(g, x.shape) : undefined] });
  return y!;
}

export function concat(values: readonly Value[], axis: number): Value {
  const first = values[0]!;
  const ax = normAxis(axis, first.rank);
  let along: Dim = 0;
  for (const v of values) {
    if (v.rank !== first.rank) fail('Concat', 'ranks differ');
    const d = v.shape[ax]!;
    along = typeof along === 'number' && typeof d === 'number' ? along + d : `${along}+${d}`;
  }
  const shape = first.shape.map((d, i) => (i === ax ? along : d));
  if (needsGrad(...values)) fail('Concat', 'gradients through Concat are not supported (no model graph needs them)');
  const [y] = first.graph.node('Concat', values, [{ dtype: first.dtype, shape }], { axis: ax });
  return y!;
}

/** Splits along an axis into static sizes; the VJP concatenates (zeros where an output had none). */
export function split(x: Value, sizes: readonly number[], axis: number): Value[] {
  const ax = normAxis(axis, x.rank);
  const d = x.shape[ax];
  if (typeof d === 'number' && d !== sizes.reduce((a, b) => a + b, 0)) fail('Split', `sizes [${sizes.join(',')}] do not sum to ${d}`);
  const grad = needsGrad(x);
  const outs = x.graph.node(
    'Split',
    [x, x.graph.ints(sizes)],
    sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === ax ? s : dd)), requiresGrad: grad })),
    { axis: ax },
  );
  if (grad)
    x.graph.record({
      inputs: [x],
      outputs: outs,
      vjp: (gs) => {
        if (gs.every((g) => !g)) return [undefined];
        const parts = gs.map((g, i) => g ?? zerosLike(outs[i]!));
        const [y] = x.graph.node('Concat', parts, [{ dtype: x.dtype, shape: x.shape }], { axis: ax });
        return [y!];
      },
    });
  return outs;
}

export function zerosLike(x: Value): Value {
  if (numel(x.shape) !== undefined) {
    const [y] = x.graph.node('ConstantOfShape', [x.graph.ints(x.shape as number[])], [{ dtype: 'float32', shape: x.shape }], {
      value: { tensor: { dims: [1], dataType: 1, floatData: [0] } },
    });
    return y!;
  }
  return mul(x, x.graph.scalar(0));
}

// ---------- reductions ----------

export function reduceSum(x: Value, axes: readonly number[], keepdims: boolean): Value {
  const ax = axes.map((a) => normAxis(a, x.rank));
  const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepdims ? [1] : []) : [d]));
  const grad = needsGrad(x);
  const [y] = x.graph.node('ReduceSum', [x, x.graph.ints(ax)], [{ dtype: x.dtype, shape, requiresGrad: grad }], { keepdims: +keepdims });
  if (grad) x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? broadcastBack(g, x, ax, keepdims) : undefined] });
  return y!;
}

export function reduceMean(x: Value, axes: readonly number[], keepdims: boolean): Value {
  const ax = axes.map((a) => normAxis(a, x.rank));
  const count = numel(ax.map((a) => x.shape[a]!));
  if (count === undefined) fail('ReduceMean', `reduced dims of ${shapeToString(x.shape)} must be static`);
  const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepdims ? [1] : []) : [d]));
  const grad = needsGrad(x);
  const [y] = x.graph.node('ReduceMean', [x], [{ dtype: x.dtype, shape, requiresGrad: grad }], { axes: ax, keepdims: +keepdims });
  if (grad) x.graph.record({ inputs: [x], outputs: [y!], vjp: ([g]) => [g ? scale(broadcastBack(g, x, ax, keepdims), 1 / count) : undefined] });
  return y!;
}

function broadcastBack(g: Value, x: Value, axes: readonly number[], keepdims: boolean): Value {
  let kept = g;
  if (!keepdims) {
    const [u] = g.graph.node('Unsqueeze', [g, g.graph.ints(axes)], [{ dtype: g.dtype, shape: x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) }]);
    kept = u!;
  }
  const [s] = g.graph.node('Shape', [x], [{ dtype: 'int64', shape: [x.rank] }]);
  const [y] = g.graph.node('Expand', [kept, s!], [{ dtype: g.dtype, shape: x.shape }]);
  return y!;
}

/** Slices static ranges of one axis (no gradient: used by inference graphs only). */
export function sliceAxis(x: Value, axis: number, start: number, end: number): Value {
  const ax = normAxis(axis, x.rank);
  const d = x.shape[ax]!;
  const len: Dim = typeof d === 'number' ? Math.min(end, d) - (start < 0 ? d + start : start) : start < 0 && end > 1e15 ? -start : end > 1e15 ? `${d}-${start}` : end - start;
  const [y] = x.graph.node('Slice', [x, x.graph.ints([start]), x.graph.ints([end]), x.graph.ints([ax])], [
    { dtype: x.dtype, shape: x.shape.map((dd, i) => (i === ax ? len : dd)) },
  ]);
  return y!;
}

export * from './nn.js';
