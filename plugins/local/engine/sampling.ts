import { mulberry32 } from '../../../src/random.js';

/**
 * Next-token choice with the usual knobs, in the order transformers applies its logits processors:
 * repetition penalty, temperature, top-k, top-p, then a seeded draw (greedy when temperature is 0).
 */
interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
}

type Rng = () => number;

/** A seeded uniform [0, 1) source (mulberry32), so a seed always gives the same text. */
export const seededRng: (seed: number) => Rng = mulberry32;

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function sampleNext(logits: Float32Array, history: readonly number[], opts: SamplingOptions, rng: Rng): number {
  const scores = Float32Array.from(logits);
  const penalty = opts.repetition_penalty ?? 1;
  if (penalty !== 1) {
    // transformers' RepetitionPenaltyLogitsProcessor: divide positive scores, multiply negative ones
    for (const id of new Set(history)) {
      const s = scores[id]!;
      scores[id] = s > 0 ? s / penalty : s * penalty;
    }
  }
  if (!(opts.temperature > 0)) return argmax(scores);
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    scores[i]! /= opts.temperature;
    if (scores[i]! > max) max = scores[i]!;
  }
  // Tokens 40 nats below the best carry < e⁻⁴⁰ of its probability each: sorting only the rest keeps
  // the draw exact in float32 while skipping most of a 32k–150k vocabulary.
  const candidates: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= max - 40) candidates.push(i);
  let order = candidates.sort((a, b) => scores[b]! - scores[a]!);
  if (opts.top_k && opts.top_k > 0) order = order.slice(0, opts.top_k);
  let probs = order.map((i) => Math.exp(scores[i]! - max));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  if (opts.top_p !== undefined && opts.top_p < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < probs.length && cumulative < opts.top_p) cumulative += probs[keep++]!;
    order = order.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
    total = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / total);
  }
  let u = rng();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}
