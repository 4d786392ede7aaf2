import { type Graph, GraphBuildError, MS_DOMAIN, shapeToString, type Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';
import { dequantizeNf4, NF4_BLOCK, NF4_CODE, type Nf4Tensor, quantizeNf4 } from './nf4.js';

/**
 * QLoRA's frozen linear layers in the graph. The weight is held as NF4 (packed codes + absmax,
 * 0.5625 byte a value at block 64) and never as a float32 initializer:
 * - forward: com.microsoft MatMulBnb4 (y = x·Wᵀ; ONNX Runtime dequantises into a scratch buffer,
 *   then runs SGEMM);
 * - backward: dx = dy·W with W dequantised by a table lookup emitted in the VJP, from the same codes
 *   and scales, so the gradient is exact for the weight the forward used. (MatMulBnb4's transB=0
 *   would do it in one node, but the CPU kernel in onnxruntime 1.30 ignores transB: it always calls
 *   SGEMM with CblasTrans, measured wrong by up to 28 on a 96×128 case.)
 * ONNX Runtime's constant folding would turn that lookup into a float32 initializer (all its inputs
 * are constants), so sessions holding MatMulBnb4 run without ConstantFolding (session.ts).
 */

interface Nf4Weight {
  packed: Value;
  absmax: Value;
  /** Rows (output features) and columns (input features) of W as x·Wᵀ uses it. */
  out: number;
  in: number;
  q: Nf4Tensor;
}

/** The quantised frozen linear weights of one model, shared by every graph built from it. */
export interface Nf4Linears {
  /** y = x·Wᵀ for a weight this store holds (`name` a Hugging Face weight name), else undefined. */
  linear(x: Value, name: string, conv1d: boolean): { y: Value; shape: number[] } | undefined;
  /** Bytes the NF4 tensors hold, and what the same weights take in float32. */
  bytes: { nf4: number; float32: number };
  /** Number of weights quantised. */
  count: number;
}

const tables = new WeakMap<Graph, { hi: Value; lo: Value }>();

/** Level of the high and of the low nibble of every byte value: a 256-entry lookup each. */
function nibbleTables(g: Graph): { hi: Value; lo: Value } {
  let t = tables.get(g);
  if (!t) {
    const hi = new Float32Array(256);
    const lo = new Float32Array(256);
    for (let b = 0; b < 256; b++) {
      hi[b] = NF4_CODE[b >> 4]!;
      lo[b] = NF4_CODE[b & 15]!;
    }
    t = { hi: g.initializer(g.fresh('nf4_hi'), hi, [256], 'float32', true), lo: g.initializer(g.fresh('nf4_lo'), lo, [256], 'float32', true) };
    tables.set(g, t);
  }
  return t;
}

/** W [out, in] in float32 from its codes and scales, as ONNX nodes (Cast, 2 Gathers, Mul by absmax). */
function dequantizeInGraph(w: Nf4Weight): Value {
  const g = w.packed.graph;
  const bytes = w.q.packed.length;
  const block = w.q.block_size;
  const blocks = w.q.absmax.length;
  const { hi, lo } = nibbleTables(g);
  const [idx] = g.node('Cast', [w.packed], [{ dtype: 'int32', shape: [bytes] }], { to: 6 });
  const [h] = g.node('Gather', [hi, idx!], [{ dtype: 'float32', shape: [bytes] }], { axis: 0 });
  const [l] = g.node('Gather', [lo, idx!], [{ dtype: 'float32', shape: [bytes] }], { axis: 0 });
  let levels = op.reshape(op.concat([op.reshape(h!, [bytes, 1]), op.reshape(l!, [bytes, 1])], 1), [2 * bytes]);
  const padded = blocks * block;
  if (padded > 2 * bytes) levels = op.concat([levels, g.constant(new Array<number>(padded - 2 * bytes).fill(0), [padded - 2 * bytes])], 0);
  let values = op.reshape(op.mul(op.reshape(levels, [blocks, block]), op.reshape(w.absmax, [blocks, 1])), [padded]);
  if (padded > w.q.size) values = op.sliceAxis(values, 0, 0, w.q.size);
  return op.reshape(values, [w.out, w.in]);
}

/** y = x·Wᵀ for an NF4 weight; its VJP gives dx = dy·W (W is frozen: no gradient of its own). */
function nf4MatMul(x: Value, w: Nf4Weight): Value {
  const g = x.graph;
  if (x.shape[x.rank - 1] !== w.in) throw new GraphBuildError(`MatMulBnb4: ${shapeToString(x.shape)} × [${w.in}, ${w.out}]: inner dims differ`);
  const grad = op.needsGrad(x);
  const [y] = g.node('MatMulBnb4', [x, w.packed, w.absmax], [{ dtype: 'float32', shape: [...x.shape.slice(0, -1), w.out], requiresGrad: grad }], {
    K: w.in,
    N: w.out,
    block_size: w.q.block_size,
    quant_type: 1, // NF4
  }, MS_DOMAIN);
  if (grad) g.record({ inputs: [x], outputs: [y!], vjp: ([dy]) => [dy ? op.matmul(dy, dequantizeInGraph(w)) : undefined] });
  return y!;
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/**
 * Quantises to NF4 every weight of the given linear modules (`….<module>.weight`, 2-D). GPT-2's
 * Conv1D weights ([in, out]) are quantised transposed, so every NF4 weight is [out, in] as
 * MatMulBnb4 reads it. Embeddings, norms, biases and the output head stay float32, as in QLoRA.
 */
export function quantizeLinears(weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, modules: readonly string[], conv1d: boolean): Nf4Linears {
  const store = new Map<string, { q: Nf4Tensor; out: number; in: number; shape: number[] }>();
  const bytes = { nf4: 0, float32: 0 };
  for (const [name, t] of weights) {
    const parts = name.split('.');
    if (parts.at(-1) !== 'weight' || !modules.includes(parts.at(-2)!) || t.shape.length !== 2) continue;
    const [rows, cols] = t.shape as [number, number];
    const [out, inDim] = conv1d ? [cols, rows] : [rows, cols];
    const q = quantizeNf4(conv1d ? transpose2d(t.data, rows, cols) : t.data, NF4_BLOCK);
    store.set(name, { q, out, in: inDim, shape: [...t.shape] });
    bytes.nf4 += q.packed.byteLength + q.absmax.byteLength;
    bytes.float32 += 4 * t.data.length;
  }
  const perGraph = new WeakMap<Graph, Map<string, Nf4Weight>>();
  return {
    bytes,
    count: store.size,
    linear(x, name, isConv1d) {
      const entry = store.get(name);
      if (!entry || isConv1d !== conv1d) return undefined;
      const g = x.graph;
      let held = perGraph.get(g);
      if (!held) perGraph.set(g, (held = new Map()));
      let w = held.get(name);
      if (!w) {
        w = {
          packed: g.initializer(`${name}.nf4`, entry.q.packed, [entry.q.packed.length], 'uint8'),
          absmax: g.initializer(`${name}.absmax`, entry.q.absmax, [entry.q.absmax.length]),
          out: entry.out,
          in: entry.in,
          q: entry.q,
        };
        held.set(name, w);
      }
      return { y: nf4MatMul(x, w), shape: entry.shape };
    },
  };
}

/**
 * The weights a QLoRA run trained against: every linear weight of `modules` replaced by its NF4
 * round trip (quantised as the engine holds it: [out, in]); other weights shared. The merged model
 * of a QLoRA job is this plus the adapter, so it equals the model that was trained.
 */
export function dequantizedLinears(weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, modules: readonly string[], conv1d: boolean): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map(weights);
  for (const [name, t] of weights) {
    const parts = name.split('.');
    if (parts.at(-1) !== 'weight' || !modules.includes(parts.at(-2)!) || t.shape.length !== 2) continue;
    const [rows, cols] = t.shape as [number, number];
    const back = dequantizeNf4(quantizeNf4(conv1d ? transpose2d(t.data, rows, cols) : t.data, NF4_BLOCK));
    out.set(name, { shape: [...t.shape], data: conv1d ? transpose2d(back, cols, rows) : back });
  }
  return out;
}
