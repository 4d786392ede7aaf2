import type { Distribution } from './types.js';

/** numpy.quantile's default ("linear") interpolation, on sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export type { Distribution };

export function distribution(values: ArrayLike<number>, sortInPlace = false): Distribution {
  // Counts sort as 32-bit integers, in place when the caller is done with them: token columns hold
  // millions of rows, and a Float64 copy of each was the peak of a 1 GB validation's memory.
  const sorted = values instanceof Uint32Array ? (sortInPlace ? values : Uint32Array.from(values)).sort() : Float64Array.from(values as ArrayLike<number>).sort();
  let total = 0;
  for (const v of sorted) total += v;
  const n = sorted.length;
  return {
    count: n,
    total,
    min: n ? sorted[0] : 0,
    mean: n ? round(total / n) : 0,
    p50: round(quantileSorted(sorted, 0.5)),
    p90: round(quantileSorted(sorted, 0.9)),
    p95: round(quantileSorted(sorted, 0.95)),
    max: n ? sorted[n - 1] : 0,
  };
}

/** Equal-width bins over [min, max] of whole-number counts, at most `bins` of them (fewer when the range is narrower). */
export function histogram(values: ArrayLike<number>, bins = 20): { edges: number[]; counts: number[] } {
  if (values.length === 0) return { edges: [], counts: [] };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  // Integer bin widths, so each bin is a whole range of token counts: [edges[i], edges[i+1]).
  const width = Math.max(1, Math.ceil((max - min + 1) / bins));
  const n = Math.ceil((max - min + 1) / width);
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.floor((values[i] - min) / width)]++;
  return { edges: Array.from({ length: n + 1 }, (_, i) => min + i * width), counts };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A growable array of unsigned 32-bit counts: 4 bytes a row, so a million rows cost 4 MB. */
export class CountColumn {
  private data: Uint32Array;
  length = 0;
  constructor(expected = 1024) {
    this.data = new Uint32Array(Math.max(16, expected));
  }
  at(index: number): number {
    return this.data[index];
  }
  set(index: number, value: number): void {
    this.data[index] = value;
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  values(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Open addressing over one typed array of slots [hi, lo, ...payload] keyed by a 64-bit hash: a probe
 * reads one cache line, and the table grows by half when three quarters full, so millions of rows
 * cost a few tens of megabytes.
 */
export class HashTable {
  /** The slots; slot() gives the offset of one, payload words follow its two hash words. */
  words: Uint32Array;
  /** Whether the last slot() call added the hash (its payload is zeros). */
  added = false;
  private capacity: number;
  private used = 0;

  /** `expected`: how many hashes will likely be added (sized for it up front: growing costs more than all the probes). */
  constructor(
    private readonly width: number,
    expected = 0,
  ) {
    this.capacity = Math.max(4096, Math.ceil(expected / 0.7));
    this.words = new Uint32Array(width * this.capacity);
  }

  /** Offset of the hash's slot in `words`, added when the hash is new. */
  slot(hi: number, lo: number): number {
    if (this.used * 4 >= this.capacity * 3) this.grow();
    // lo = 0 marks an empty slot, so a hash whose low word is 0 is stored with 1 (same bits elsewhere).
    const l = lo || 1;
    const { words, capacity, width } = this;
    for (let i = slotOf(l, capacity); ; i = i + 1 === capacity ? 0 : i + 1) {
      const at = width * i;
      const stored = words[at + 1];
      if (stored === 0) {
        words[at] = hi;
        words[at + 1] = l;
        this.used++;
        this.added = true;
        return at;
      }
      if (stored === l && words[at] === hi) {
        this.added = false;
        return at;
      }
    }
  }

  /**
   * Reads the home slot of each low word in `los` (every `stride`-th word from `first`, `count` of
   * them) and returns nothing useful: independent loads run many at a time, so the cache misses of a
   * batch overlap instead of coming one by one in slot() (the table is larger than the caches).
   */
  warm(los: Uint32Array, first: number, stride: number, count: number): number {
    const { words, capacity, width } = this;
    let sink = 0;
    for (let i = 0, at = first; i < count; i++, at += stride) sink ^= words[width * slotOf(los[at] || 1, capacity) + 1];
    return sink;
  }

  private grow(): void {
    const { words: old, width } = this;
    const capacity = Math.floor(this.capacity * 1.5);
    const words = new Uint32Array(width * capacity);
    for (let j = 0; j < old.length; j += width) {
      if (old[j + 1] === 0) continue;
      let i = slotOf(old[j + 1], capacity);
      while (words[width * i + 1] !== 0) i = i + 1 === capacity ? 0 : i + 1;
      for (let k = 0; k < width; k++) words[width * i + k] = old[j + k];
    }
    this.words = words;
    this.capacity = capacity;
  }
}

/**
 * A hash word's home slot: scrambled by a Fibonacci multiply (so words that differ only in low bits
 * spread too), then scaled to [0, capacity) in doubles (a % on words past 2^31 would be a slow
 * floating-point remainder).
 */
function slotOf(word: number, capacity: number): number {
  return Math.floor(((Math.imul(word, -1640531535) >>> 0) * capacity) / 4294967296);
}
