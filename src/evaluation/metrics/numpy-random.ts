/**
 * numpy's default random generator, bit for bit: `np.random.default_rng(seed)` (SeedSequence →
 * PCG64 XSL-RR 128/64) and `Generator.integers(0, n)` (Lemire's bounded draw on buffered 32-bit
 * halves). sacreBLEU draws its bootstrap resamples with
 * `default_rng(12345).choice(n, size=(B, n))`, so with this stream our resamples are sacreBLEU's.
 * Checked against numpy's own outputs in test/evaluation/numpy-random.test.ts.
 */

const MASK32 = 0xffffffffn;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULTIPLIER = 0x2360ed051fc65da44385df649fccf645n;

// SeedSequence mixing constants (numpy/random/bit_generator.pyx)
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;
const POOL_SIZE = 4;

/** A non-negative integer seed as little-endian 32-bit words (numpy's `_coerce_to_uint32_array`). */
function seedWords(seed: number | bigint): number[] {
  let value = BigInt(seed);
  if (value < 0n) throw new Error(`a numpy seed must be non-negative, not ${seed}`);
  if (value === 0n) return [0];
  const words: number[] = [];
  while (value > 0n) {
    words.push(Number(value & MASK32));
    value >>= 32n;
  }
  return words;
}

/** `np.random.SeedSequence(seed)`: its entropy pool. */
export function seedSequencePool(seed: number | bigint): number[] {
  const entropy = seedWords(seed);
  const pool = new Array<number>(POOL_SIZE).fill(0);
  let hashConst = INIT_A;
  const hashmix = (input: number): number => {
    let value = (input ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> XSHIFT)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (result ^ (result >>> XSHIFT)) >>> 0;
  };
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  return pool;
}

/** `SeedSequence(seed).generate_state(nWords, np.uint64)`. */
export function seedSequenceState64(seed: number | bigint, nWords: number): bigint[] {
  const pool = seedSequencePool(seed);
  const words32: number[] = [];
  let hashConst = INIT_B;
  for (let i = 0; i < nWords * 2; i++) {
    let value = (pool[i % POOL_SIZE] ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_B) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    words32.push((value ^ (value >>> XSHIFT)) >>> 0);
  }
  // numpy views the uint32 array as little-endian uint64s
  return Array.from({ length: nWords }, (_, k) => (BigInt(words32[2 * k + 1]) << 32n) | BigInt(words32[2 * k]));
}

/** A 128-bit number as eight 16-bit limbs, least significant first (products of limbs stay exact in doubles). */
function toLimbs(value: bigint): Float64Array {
  const limbs = new Float64Array(8);
  for (let i = 0; i < 8; i++) limbs[i] = Number((value >> BigInt(16 * i)) & 0xffffn);
  return limbs;
}

function fromLimbs(limbs: Float64Array): bigint {
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 16n) | BigInt(limbs[i]);
  return value;
}

const MULTIPLIER_LIMBS = toLimbs(PCG_MULTIPLIER);

/** `np.random.default_rng(seed)`: PCG64 seeded through SeedSequence. */
export class NumpyGenerator {
  private readonly state: Float64Array;
  private readonly increment: Float64Array;
  private readonly next = new Float64Array(8);
  private spare = -1;
  private outHigh = 0;
  private outLow = 0;

  constructor(seed: number | bigint) {
    const [s0, s1, i0, i1] = seedSequenceState64(seed, 4);
    const initState = (s0 << 64n) | s1;
    const initSeq = (i0 << 64n) | i1;
    const increment = ((initSeq << 1n) | 1n) & MASK128;
    // pcg_setseq_128_srandom_r, done once in BigInt
    let state = (0n * PCG_MULTIPLIER + increment) & MASK128;
    state = (state + initState) & MASK128;
    state = (state * PCG_MULTIPLIER + increment) & MASK128;
    this.state = toLimbs(state);
    this.increment = toLimbs(increment);
  }

  /** PCG64 internal state and increment, for checking against `PCG64(seed).state`. */
  get pcgState(): { state: bigint; inc: bigint } {
    return { state: fromLimbs(this.state), inc: fromLimbs(this.increment) };
  }

  /** state = state · multiplier + increment (mod 2^128), limb by limb. */
  private step(): void {
    const s = this.state;
    const m = MULTIPLIER_LIMBS;
    const out = this.next;
    let carry = 0;
    for (let k = 0; k < 8; k++) {
      let total = carry + this.increment[k];
      for (let i = 0; i <= k; i++) total += s[i] * m[k - i];
      carry = Math.floor(total / 65536);
      out[k] = total - carry * 65536;
    }
    s.set(out);
  }

  /** One 64-bit output (XSL-RR), left in outHigh / outLow as 32-bit halves. */
  private output(): void {
    this.step();
    const s = this.state;
    const hi = (((s[7] << 16) | s[6]) ^ ((s[3] << 16) | s[2])) >>> 0;
    const lo = (((s[5] << 16) | s[4]) ^ ((s[1] << 16) | s[0])) >>> 0;
    const rotation = s[7] >>> 10; // state >> 122
    // rotating the 64-bit (hi, lo) right by 32 swaps the halves; the rest shifts bits across them
    const h = rotation >= 32 ? lo : hi;
    const l = rotation >= 32 ? hi : lo;
    const r = rotation & 31;
    this.outHigh = r === 0 ? h : ((h >>> r) | (l << (32 - r))) >>> 0;
    this.outLow = r === 0 ? l : ((l >>> r) | (h << (32 - r))) >>> 0;
  }

  /** `bit_generator.random_raw()`: one 64-bit output. */
  nextUint64(): bigint {
    this.output();
    return (BigInt(this.outHigh) << 32n) | BigInt(this.outLow);
  }

  /** numpy's buffered next_uint32: the low half of a 64-bit output, then its high half. */
  nextUint32(): number {
    if (this.spare >= 0) {
      const value = this.spare;
      this.spare = -1;
      return value;
    }
    this.output();
    this.spare = this.outHigh;
    return this.outLow;
  }

  /** `Generator.integers(0, n)` for 1 ≤ n ≤ 2^32 − 1: Lemire's multiply-shift with rejection. */
  integer(n: number): number {
    if (n === 1) return 0;
    let x = this.nextUint32();
    let low = Math.imul(x, n) >>> 0;
    if (low < n) {
      const threshold = (0x100000000 - n) % n;
      while (low < threshold) {
        x = this.nextUint32();
        low = Math.imul(x, n) >>> 0;
      }
    }
    return multiplyHigh32(x, n);
  }
}

/** The high 32-bit word of x·n (both < 2^32), exactly, in doubles: x·n itself can pass 2^53. */
function multiplyHigh32(x: number, n: number): number {
  const a = (x >>> 16) * n; // < 2^48
  const b = (x & 0xffff) * n; // < 2^48
  return Math.floor(a / 65536) + Math.floor(((a % 65536) * 65536 + b) / 0x100000000);
}
