import type { Guardrails } from './job-records.js';

/**
 * Divergence rules on a training-loss series and a gradient-norm series, meaningful at each method's
 * loss scale. Pure: fed one value at a time, it says when a rule trips (the caller records and acts).
 *
 * - NaN or ±Infinity trips at once.
 * - The loss is smoothed (the median of the last `smoothing_steps` values: per-batch losses are
 *   heavy-tailed, and one badly ranked DPO batch scores 6 where its neighbours score 0.5, which an
 *   average would carry for many steps) and compared with its best smoothed value: it diverges when it
 *   is above `explode_factor` × that best AND above it by more than an absolute margin in the
 *   method's own units. A relative rise alone means nothing near zero: a DPO loss going
 *   0.0024 → 0.158 is 65× but the policy still prefers every chosen answer (reward accuracy 1.0).
 * - The gradient norm, smoothed the same way, spikes when it is over `grad_spike_factor` × the
 *   median of the 50 raw norms before (a single clipped spike does not trip it; a sustained one does).
 */

/** The absolute margin by method, in loss units, and why that size. */
const LOSS_SCALES: Record<string, { margin: number; why: string }> = {
  sft: { margin: 1, why: 'token cross-entropy in nats: +1 means the targets became e ≈ 2.7× less likely' },
  dpo: { margin: Math.LN2, why: '−log σ(0) = ln 2 ≈ 0.693 is the loss of a policy no better than its reference' },
};

interface DivergenceTrip {
  rule: 'nan_loss' | 'exploding_loss' | 'grad_norm_spike';
  message: string;
  data: Record<string, unknown>;
}

const GRAD_WINDOW = 50;
const GRAD_MIN_POINTS = 10;

function lossMargin(method: string, guardrails: Pick<Guardrails, 'explode_margin'>): number {
  return guardrails.explode_margin ?? (LOSS_SCALES[method] ?? LOSS_SCALES.sft).margin;
}

/** The median of the last n values pushed. */
class RunningMedian {
  private readonly window: number[] = [];
  constructor(private readonly n: number) {}
  push(x: number): number {
    this.window.push(x);
    if (this.window.length > this.n) this.window.shift();
    return medianOf(this.window);
  }
}

export class DivergenceWatch {
  /** The absolute rise that counts, in this method's loss units. */
  readonly margin: number;
  private readonly losses = new Map<string, { smooth: RunningMedian; best: number; points: number }>();
  private readonly grad: { smooth: RunningMedian; recent: number[] };

  constructor(
    private readonly method: string,
    private readonly guardrails: Guardrails,
  ) {
    this.margin = lossMargin(method, guardrails);
    this.grad = { smooth: new RunningMedian(guardrails.smoothing_steps), recent: [] };
  }

  /** A training-loss point (`loss`, `train_loss`); null when nothing trips. */
  loss(name: string, step: number, value: number): DivergenceTrip | null {
    if (!Number.isFinite(value)) return { rule: 'nan_loss', message: `${name} became ${value} at step ${step}.`, data: { metric: name, step } };
    let series = this.losses.get(name);
    if (!series) this.losses.set(name, (series = { smooth: new RunningMedian(this.guardrails.smoothing_steps), best: Number.POSITIVE_INFINITY, points: 0 }));
    const smoothed = series.smooth.push(value);
    series.points += 1;
    series.best = Math.min(series.best, smoothed);
    const factor = this.guardrails.explode_factor;
    if (factor <= 0 || series.points < 2) return null;
    const rise = smoothed - series.best;
    if (smoothed <= factor * series.best || rise <= this.margin) return null;
    const n = this.guardrails.smoothing_steps;
    return {
      rule: 'exploding_loss',
      message:
        `${name} (median of the last ${n} steps) rose to ${smoothed.toFixed(4)} at step ${step} (last value ${value.toFixed(4)}) from its best ${series.best.toFixed(4)}: ` +
        `over ${factor}× and by more than the ${this.method} margin ${this.margin.toFixed(3)}.`,
      data: { metric: name, step, smoothed, best: series.best, value, margin: this.margin, factor },
    };
  }

  /** A gradient-norm point; null when nothing trips. */
  gradNorm(step: number, value: number): DivergenceTrip | null {
    if (!Number.isFinite(value)) return { rule: 'nan_loss', message: `grad_norm became ${value} at step ${step}.`, data: { metric: 'grad_norm', step } };
    const factor = this.guardrails.grad_spike_factor;
    const smoothed = this.grad.smooth.push(value);
    const recent = this.grad.recent;
    const median = recent.length >= GRAD_MIN_POINTS ? medianOf(recent) : null;
    recent.push(value);
    if (recent.length > GRAD_WINDOW) recent.shift();
    if (factor <= 0 || median === null || median <= 0 || smoothed <= factor * median) return null;
    return {
      rule: 'grad_norm_spike',
      message: `grad_norm (median of the last ${this.guardrails.smoothing_steps} steps) is ${smoothed.toFixed(3)} at step ${step}, over ${factor}× the median ${median.toFixed(3)} of the last ${recent.length - 1} steps.`,
      data: { metric: 'grad_norm', step, smoothed, median, value, factor },
    };
  }
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
