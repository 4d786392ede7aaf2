import type { Value } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';

/**
 * Scaled dot-product attention with an additive bias (causal and padding mask), grouped-query
 * heads (each kv head serves `rep` query heads), recorded as one tape entry with a hand-written
 * VJP that follows ORT-TRAINING.md's measured layouts:
 * - no batched matmul transposes a [T,S] operand: dV = (dOᵀ·P)ᵀ and dK = (qᵀ·dS)ᵀ;
 * - softmax backward uses rowsum(dP∘P) = rowsum(dO∘O), which saves a [T,S] product and sum.
 *
 * q [B,H,T,hd], k and v [B,Hkv,S,hd], bias [B,1,T,S] → [B,H,T,hd].
 */
export function attention(q: Value, k: Value, v: Value, bias: Value, rep: number): Value {
  const g = q.graph;
  const grad = g.recording && (q.requiresGrad || k.requiresGrad || v.requiresGrad);
  const wasRecording = g.recording;
  g.recording = false;
  const [B, H, T, hd] = q.shape;
  const S = k.shape[2]!;
  const alpha = 1 / Math.sqrt(hd as number);
  let kx: Value;
  let vx: Value;
  try {
    kx = repeatKv(k, rep);
    vx = repeatKv(v, rep);
    const scores = op.add(op.fusedMatMul(q, kx, { transB: true, alpha }), bias);
    const p = op.softmax(scores, -1);
    const [out] = g.node('MatMul', [p, vx], [{ dtype: 'float32', shape: [B!, H!, T!, hd!], requiresGrad: grad }]);
    if (grad) {
      g.recording = wasRecording;
      g.record({
        inputs: [q, k, v],
        outputs: [out!],
        vjp: ([dO]) => {
          if (!dO) return [undefined, undefined, undefined];
          const dP = op.fusedMatMul(dO, vx, { transB: true });
          const rowsum = op.reduceSum(op.mul(dO, out!), [-1], true);
          const dS = op.mul(p, op.sub(dP, rowsum));
          const dq = q.requiresGrad ? op.fusedMatMul(dS, kx, { alpha }) : undefined;
          const dkx = k.requiresGrad ? op.transpose(op.fusedMatMul(op.transpose(q, [0, 1, 3, 2]), dS, { alpha }), [0, 1, 3, 2]) : undefined;
          const dvx = v.requiresGrad ? op.transpose(op.matmul(op.transpose(dO, [0, 1, 3, 2]), p), [0, 1, 3, 2]) : undefined;
          return [dq, dkx && sumGroups(dkx, k, rep, S), dvx && sumGroups(dvx, v, rep, S)];
        },
      });
    }
    return out!;
  } finally {
    g.recording = wasRecording;
  }
}

/** [B,Hkv,S,hd] → [B,Hkv·rep,S,hd], each kv head repeated for its query heads. */
function repeatKv(x: Value, rep: number): Value {
  if (rep === 1) return x;
  const [B, Hkv, S, hd] = x.shape;
  const [u] = x.graph.node('Unsqueeze', [x, x.graph.ints([2])], [{ dtype: 'float32', shape: [B!, Hkv!, 1, S!, hd!] }]);
  const e = op.expand(u!, [1, 1, rep, 1, 1]);
  return op.reshape(e, [0, (Hkv as number) * rep, -1, hd as number], [B!, (Hkv as number) * rep, S!, hd!]);
}

function sumGroups(dx: Value, x: Value, rep: number, S: Value['shape'][number]): Value {
  if (rep === 1) return dx;
  const [B, Hkv, , hd] = x.shape;
  const grouped = op.reshape(dx, [0, Hkv as number, rep, -1, hd as number], [B!, Hkv!, rep, S, hd!]);
  return op.reduceSum(grouped, [2], false);
}
