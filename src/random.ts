/**
 * The project's seeded random numbers, in one place. Two generators, each kept because streams
 * already recorded depend on it bit for bit:
 * - `Prng` (xoshiro128**): a checkpointable state of four words, so a resumed training run draws
 *   exactly what an uninterrupted run would have; the trainer's batch order and the human-eval
 *   sample order use it.
 * - `mulberry32`: dataset splits, sampling and adapter initialisation; a split re-created from its
 *   recorded seed must give the same rows, so its stream cannot change.
 * Neither is for cryptography.
 */

/**
 * mulberry32: a small, fast seeded generator of uniform numbers in [0, 1). The same seed gives the
 * same stream on every machine, which is what seeded splits, adapter initialisation and sampling need.
 * Not for cryptography.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A small seeded PRNG (xoshiro128**) whose whole state is four uint32s, so a checkpoint can
 * store it and a resumed run draws exactly the numbers an uninterrupted run would have drawn.
 */
export type PrngState = [number, number, number, number];

export class Prng {
  private s: Uint32Array;

  private constructor(state: PrngState) {
    this.s = Uint32Array.from(state);
  }

  /** Seeds the four words with splitmix32, so nearby seeds give unrelated streams. */
  static fromSeed(seed: number): Prng {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    const state: PrngState = [next(), next(), next(), next()];
    if (state.every((w) => w === 0)) state[0] = 1; // the all-zero state is a fixed point
    return new Prng(state);
  }

  static fromState(state: PrngState): Prng {
    return new Prng(state);
  }

  state(): PrngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (n <= 1) return 0;
    const limit = Math.floor(4294967296 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seed derived from a base seed and a few integers (epoch, step), stable across runs and resumes. */
export function deriveSeed(base: number, ...parts: number[]): number {
  let h = (base ^ 0x811c9dc5) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}
