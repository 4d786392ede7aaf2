/**
 * A plain TypeScript transcription of llama2.c run.c's `forward()` (karpathy/llama2.c, run.c:
 * rmsnorm, matmul, interleaved-pair RoPE, GQA attention over a KV cache, SwiGLU, shared classifier),
 * reading the version-0 checkpoint directly, without any of our conversion code. It is the
 * reference for the engine's stories260K log-likelihoods.
 */
export interface RunCModel {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seqLen: number;
  w: Record<string, Float32Array>;
}

export function readRunCCheckpoint(bytes: Uint8Array): RunCModel {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true)) as number[];
  const vocab = Math.abs(vocabSigned!);
  const floats = new Float32Array(Uint8Array.prototype.slice.call(bytes, 28).buffer); // a copy: Buffer.slice would share the pool
  const hs = dim! / heads!;
  const kvDim = (dim! * kvHeads!) / heads!;
  let offset = 0;
  const take = (n: number): Float32Array => {
    const out = floats.subarray(offset, offset + n);
    offset += n;
    return out;
  };
  const w: Record<string, Float32Array> = {};
  w.emb = take(vocab * dim!);
  w.rmsAtt = take(layers! * dim!);
  w.wq = take(layers! * dim! * dim!);
  w.wk = take(layers! * kvDim * dim!);
  w.wv = take(layers! * kvDim * dim!);
  w.wo = take(layers! * dim! * dim!);
  w.rmsFfn = take(layers! * dim!);
  w.w1 = take(layers! * hidden! * dim!);
  w.w2 = take(layers! * dim! * hidden!);
  w.w3 = take(layers! * hidden! * dim!);
  w.rmsFinal = take(dim!);
  take(seqLen! * hs); // freq_cis_real (unused by run.c)
  take(seqLen! * hs);
  w.wcls = vocabSigned! > 0 ? w.emb : take(vocab * dim!);
  return { dim: dim!, hidden: hidden!, layers: layers!, heads: heads!, kvHeads: kvHeads!, vocab, seqLen: seqLen!, w };
}

function rmsnorm(x: Float32Array, weight: Float32Array): Float32Array {
  let ss = 0;
  for (let j = 0; j < x.length; j++) ss += x[j]! * x[j]!;
  ss = 1 / Math.sqrt(ss / x.length + 1e-5);
  const out = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) out[j] = weight[j]! * (ss * x[j]!);
  return out;
}

/** W (d,n) @ x (n,) → (d,), run.c's matmul. */
function matmul(x: Float32Array, w: Float32Array, n: number, d: number, offset = 0): Float32Array {
  const out = new Float32Array(d);
  const rows = w.subarray(offset, offset + n * d);
  for (let i = 0; i < d; i++) {
    let val = 0;
    const base = i * n;
    for (let j = 0; j < n; j++) val += rows[base + j]! * x[j]!;
    out[i] = val;
  }
  return out;
}

/** Logits after each token of `tokens`, feeding them one by one as run.c does. */
export function runCLogits(m: RunCModel, tokens: readonly number[]): Float32Array[] {
  const { dim, hidden, layers, heads, kvHeads } = m;
  const hs = dim / heads;
  const kvDim = (dim * kvHeads) / heads;
  const kvMul = heads / kvHeads;
  const keyCache: Float32Array[][] = Array.from({ length: layers }, () => []);
  const valueCache: Float32Array[][] = Array.from({ length: layers }, () => []);
  const out: Float32Array[] = [];
  tokens.forEach((token, pos) => {
    const x = Float32Array.from(m.w.emb!.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < layers; l++) {
      const xb = rmsnorm(x, m.w.rmsAtt!.subarray(l * dim, (l + 1) * dim));
      const q = matmul(xb, m.w.wq!, dim, dim, l * dim * dim);
      const k = matmul(xb, m.w.wk!, dim, kvDim, l * kvDim * dim);
      const v = matmul(xb, m.w.wv!, dim, kvDim, l * kvDim * dim);
      for (let i = 0; i < dim; i += 2) {
        const headDim = i % hs;
        const freq = 1 / Math.pow(10000, headDim / hs);
        const val = pos * freq;
        const fcr = Math.cos(val);
        const fci = Math.sin(val);
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const v0 = vec[i]!;
          const v1 = vec[i + 1]!;
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      keyCache[l]!.push(k);
      valueCache[l]!.push(v);
      const att = new Float32Array(dim);
      for (let h = 0; h < heads; h++) {
        const scores = new Float64Array(pos + 1);
        const kvOff = Math.floor(h / kvMul) * hs;
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i]! * keyCache[l]![t]![kvOff + i]!;
          scores[t] = s / Math.sqrt(hs);
        }
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) max = Math.max(max, scores[t]!);
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t]! - max);
        for (let t = 0; t <= pos; t++) for (let i = 0; i < hs; i++) att[h * hs + i]! += (scores[t]! / sum) * valueCache[l]![t]![kvOff + i]!;
      }
      const xb2 = matmul(att, m.w.wo!, dim, dim, l * dim * dim);
      for (let i = 0; i < dim; i++) x[i]! += xb2[i]!;
      const xf = rmsnorm(x, m.w.rmsFfn!.subarray(l * dim, (l + 1) * dim));
      const hb = matmul(xf, m.w.w1!, dim, hidden, l * hidden * dim);
      const hb2 = matmul(xf, m.w.w3!, dim, hidden, l * hidden * dim);
      for (let i = 0; i < hidden; i++) hb[i] = (hb[i]! / (1 + Math.exp(-hb[i]!))) * hb2[i]!;
      const down = matmul(hb, m.w.w2!, hidden, dim, l * dim * hidden);
      for (let i = 0; i < dim; i++) x[i]! += down[i]!;
    }
    out.push(matmul(rmsnorm(x, m.w.rmsFinal!), m.w.wcls!, dim, m.vocab));
  });
  return out;
}

/** Σ −log p(tokens[t] | tokens[<t]) for t ≥ 1, from run.c logits. */
export function runCNll(m: RunCModel, tokens: readonly number[]): number {
  const logits = runCLogits(m, tokens);
  let nll = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    const row = logits[t]!;
    let max = -Infinity;
    for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
    let sum = 0;
    for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
    nll -= row[tokens[t + 1]!]! - max - Math.log(sum);
  }
  return nll;
}
