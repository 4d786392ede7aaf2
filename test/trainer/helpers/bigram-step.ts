import type { DpoBatch, SftBatch } from '../../../plugins/local/trainer/batches.js';
import { Prng } from '../../../src/random.js';
import type { TrainStepLike } from '../../../plugins/local/trainer/step-contract.js';

/**
 * A test-only train step with exact, hand-derived gradients: a low-rank bigram language model
 * (logits of the next token = dropout(E[prev]) · U) with SFT (mean masked NLL) and DPO (sigmoid
 * loss on summed log-probs vs reference). Deterministic, so resume tests can demand equality.
 */
export function bigramStep(options: { vocab: number; dim: number; batch_size: number; seq_len: number; dropout?: number; beta?: number; seed?: number }): TrainStepLike {
  const { vocab: V, dim: D, batch_size: B, seq_len: T } = options;
  const p = options.dropout ?? 0;
  const beta = options.beta ?? 0.1;
  const rng = Prng.fromSeed(options.seed ?? 1);
  const init = [
    Float32Array.from({ length: V * D }, () => (rng.nextFloat() - 0.5) * 0.2),
    Float32Array.from({ length: D * V }, () => (rng.nextFloat() - 0.5) * 0.2),
  ];

  /** Σ masked log p(x_t | x_{t-1}) for row b, adding scale · ∂/∂params to grads when given. */
  function rowLogp(batch: SftBatch, b: number, params: Float32Array[], grads: Float32Array[] | null, scale: number, dropout: Prng | null): { logp: number; tokens: number } {
    const [E, U] = params;
    let logp = 0;
    let tokens = 0;
    const h = new Float64Array(D);
    const keep = new Float64Array(D);
    const logits = new Float64Array(V);
    for (let t = 1; t < T; t++) {
      const i = b * T + t;
      if (batch.loss_mask[i] === 0) continue;
      const prev = batch.input_ids[i - 1];
      const next = batch.input_ids[i];
      for (let d = 0; d < D; d++) {
        keep[d] = dropout && p > 0 ? (dropout.nextFloat() < p ? 0 : 1 / (1 - p)) : 1;
        h[d] = E[prev * D + d] * keep[d];
      }
      let max = -Infinity;
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += h[d] * U[d * V + v];
        logits[v] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits[v] - max);
      const logZ = max + Math.log(z);
      logp += logits[next] - logZ;
      tokens += 1;
      if (!grads) continue;
      // ∂ log p / ∂ logits = onehot(next) − softmax
      for (let v = 0; v < V; v++) {
        const dl = scale * ((v === next ? 1 : 0) - Math.exp(logits[v] - logZ));
        for (let d = 0; d < D; d++) {
          grads[1][d * V + v] += h[d] * dl;
          grads[0][prev * D + d] += U[d * V + v] * dl * keep[d];
        }
      }
    }
    return { logp, tokens };
  }

  const zeros = () => [new Float32Array(V * D), new Float32Array(D * V)];
  const isDpo = (batch: SftBatch | DpoBatch): batch is DpoBatch => 'chosen' in batch;
  const realRows = (batch: SftBatch) => [...Array(B).keys()].filter((b) => batch.loss_mask.subarray(b * T, (b + 1) * T).some((m) => m > 0));

  function dpo(batch: DpoBatch, params: Float32Array[], grads: Float32Array[] | null) {
    const rows = realRows(batch.chosen);
    let lossSum = 0;
    let correct = 0;
    let margin = 0;
    for (const b of rows) {
      const c = rowLogp(batch.chosen, b, params, null, 0, null).logp;
      const r = rowLogp(batch.rejected, b, params, null, 0, null).logp;
      const cr = beta * (c - batch.reference_chosen_logps[b]);
      const rr = beta * (r - batch.reference_rejected_logps[b]);
      const zz = cr - rr;
      lossSum += Math.log1p(Math.exp(-zz));
      correct += cr > rr ? 1 : 0;
      margin += zz;
      if (grads) {
        const g = (-beta * (1 / (1 + Math.exp(zz)))) / rows.length; // ∂ mean loss / ∂ c
        rowLogp(batch.chosen, b, params, grads, g, null);
        rowLogp(batch.rejected, b, params, grads, -g, null);
      }
    }
    return { lossSum, count: rows.length, metrics: { reward_accuracy: correct / rows.length, reward_margin: margin / rows.length } };
  }

  return {
    trainable: [
      { name: 'bigram.embed', shape: [V, D], init: init[0] },
      { name: 'bigram.unembed', shape: [D, V], init: init[1] },
    ],
    trainable_parameters: 2 * V * D,
    missing_targets: [],
    provider: 'js-test',
    async step(batch, params, opts = {}) {
      const grads = zeros();
      if (isDpo(batch)) {
        const r = dpo(batch, params, grads);
        return { loss: r.lossSum / r.count, grads, tokens: r.count, metrics: r.metrics };
      }
      let n = 0;
      for (let i = 0; i < B * T; i++) if (i % T > 0 && batch.loss_mask[i] > 0) n++;
      const dropout = Prng.fromSeed(opts.dropout_seed ?? 0);
      let logp = 0;
      for (let b = 0; b < B; b++) logp += rowLogp(batch, b, params, grads, -1 / n, dropout).logp;
      return { loss: -logp / n, grads, tokens: n, metrics: {} };
    },
    async evaluate(batch, params) {
      if (isDpo(batch)) {
        const r = dpo(batch, params, null);
        return { loss_sum: r.lossSum, tokens: r.count, metrics: r.metrics };
      }
      let logp = 0;
      let tokens = 0;
      for (let b = 0; b < B; b++) {
        const r = rowLogp(batch, b, params, null, 0, null);
        logp += r.logp;
        tokens += r.tokens;
      }
      return { loss_sum: -logp, tokens, metrics: {} };
    },
    async sequenceLogps(batch, params) {
      const use = params ?? init;
      return Float32Array.from({ length: B }, (_, b) => rowLogp(batch, b, use, null, 0, null).logp);
    },
    async dispose() {},
  };
}
