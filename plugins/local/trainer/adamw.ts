/**
 * AdamW on Float32Arrays with torch.optim.AdamW semantics (amsgrad off): decoupled weight decay
 * `p ← p·(1 − lr·wd)`, then the bias-corrected Adam update
 * `p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)`.
 * The moments are float32 like PyTorch's, so a checkpoint holds them exactly.
 */
interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

export interface AdamWState {
  /** Optimizer steps taken so far (PyTorch's `state['step']`). */
  step: number;
  exp_avg: Float32Array[];
  exp_avg_sq: Float32Array[];
}

export class AdamW {
  private state: AdamWState;

  /** `decay[i]` false exempts tensor i from weight decay (norms and biases, as the HF Trainer does). */
  constructor(
    shapes: readonly number[],
    private readonly options: AdamWOptions,
    private readonly decay: readonly boolean[] = shapes.map(() => true),
  ) {
    this.state = {
      step: 0,
      exp_avg: shapes.map((n) => new Float32Array(n)),
      exp_avg_sq: shapes.map((n) => new Float32Array(n)),
    };
  }

  get step(): number {
    return this.state.step;
  }

  /** Updates `params` in place with `grads` at learning rate `lr`. */
  update(params: Float32Array[], grads: readonly Float32Array[], lr: number): void {
    const { beta1, beta2, eps, weight_decay } = this.options;
    this.state.step += 1;
    const t = this.state.step;
    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / biasCorrection1;
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const g = grads[i];
      const m = this.state.exp_avg[i];
      const v = this.state.exp_avg_sq[i];
      const shrink = this.decay[i] ? 1 - lr * weight_decay : 1;
      for (let j = 0; j < p.length; j++) {
        const gj = g[j];
        m[j] = beta1 * m[j] + (1 - beta1) * gj;
        v[j] = beta2 * v[j] + (1 - beta2) * gj * gj;
        const denom = Math.sqrt(v[j]) / biasCorrection2Sqrt + eps;
        p[j] = p[j] * shrink - (stepSize * m[j]) / denom;
      }
    }
  }

  snapshot(): AdamWState {
    return {
      step: this.state.step,
      exp_avg: this.state.exp_avg.map((a) => a.slice()),
      exp_avg_sq: this.state.exp_avg_sq.map((a) => a.slice()),
    };
  }

  restore(state: AdamWState): void {
    const sizes = this.state.exp_avg.map((a) => a.length);
    const ok =
      state.exp_avg.length === sizes.length &&
      state.exp_avg_sq.length === sizes.length &&
      sizes.every((n, i) => state.exp_avg[i].length === n && state.exp_avg_sq[i].length === n);
    if (!ok) throw new Error('optimizer state does not match the trainable tensors');
    this.state = { step: state.step, exp_avg: state.exp_avg.map((a) => a.slice()), exp_avg_sq: state.exp_avg_sq.map((a) => a.slice()) };
  }
}

/** HF Trainer's rule: no weight decay on biases and normalisation weights. */
export function decaysWeight(name: string): boolean {
  return !(/\.bias$/.test(name) || /norm/i.test(name) || /(^|\.)ln_/.test(name));
}

/** The L2 norm of all gradients together (computed in float64). */
function globalNorm(grads: readonly Float32Array[]): number {
  let sum = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sum += g[j] * g[j];
  return Math.sqrt(sum);
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient by max_norm / (norm + 1e-6) when that is
 * below 1. Returns the norm before clipping (what trainers log as grad_norm).
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0) {
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) for (const g of grads) for (let j = 0; j < g.length; j++) g[j] *= coef;
  }
  return norm;
}
