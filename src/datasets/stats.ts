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

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A growable array of unsigned 32-bit counts: 4 bytes a row, so a million rows cost 4 MB. */
export class CountColumn {
  private data = new Uint32Array(1024);
  length = 0;
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
 * First-seen index of 64-bit content hashes → line, in open addressing over typed arrays: about
 * 24 bytes a row, so duplicate detection on millions of rows stays within bounded memory.
 */
export class HashIndex {
  private hi = new Uint32Array(1 << 12);
  private lo = new Uint32Array(1 << 12);
  private lines = new Uint32Array(1 << 12);
  private used = 0;

  /** Records the hash with its line when new and returns undefined; returns the first line when seen before. */
  firstOrAdd(hash: Buffer, line: number): number | undefined {
    return this.firstOrAddWords(hash.readUInt32BE(0), hash.readUInt32BE(4), line);
  }

  /** firstOrAdd of a hash given as its first two big-endian 32-bit words. */
  firstOrAddWords(hi: number, lo: number, line: number): number | undefined {
    if ((this.used + 1) * 2 > this.lines.length) this.grow();
    const h = hi;
    const l = lo || 1;
    const mask = this.lines.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      if (this.lo[i] === 0) {
        this.hi[i] = h;
        this.lo[i] = l;
        this.lines[i] = line;
        this.used++;
        return undefined;
      }
      if (this.lo[i] === l && this.hi[i] === h) return this.lines[i];
    }
  }

  private grow(): void {
    const { hi, lo, lines } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    this.lines = new Uint32Array(lines.length * 2);
    const mask = this.lines.length - 1;
    for (let j = 0; j < lo.length; j++) {
      if (lo[j] === 0) continue;
      let i = lo[j] & mask;
      while (this.lo[i] !== 0) i = (i + 1) & mask;
      this.hi[i] = hi[j];
      this.lo[i] = lo[j];
      this.lines[i] = lines[j];
    }
  }
}

/**
 * A 64-bit content fingerprint (two 32-bit lanes of cyrb53-style mixing), fed one UTF-16 unit at a
 * time. Fast enough for every row of a gigabyte file; collisions among n rows are about n²/2⁶⁵ likely.
 */
export class Fingerprint {
  // Multipliers are written as their int32 values (2654435761 is -1640531535): the same products,
  // but V8 keeps Math.imul on integers instead of converting a double constant (about 1.5x faster).
  h1 = -0x21524111; // 0xdeadbeef as int32
  h2 = 0x41c6ce57;
  length = 0;

  add(code: number): void {
    this.h1 = Math.imul(this.h1 ^ code, -1640531535);
    this.h2 = Math.imul(this.h2 ^ code, 1597334677);
    this.length++;
  }

  addString(text: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, -1640531535);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.length += text.length;
  }

  digest(): Buffer {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), -2048144789) ^ Math.imul(h2 ^ (h2 >>> 13), -1028477387);
    h2 = Math.imul(h2 ^ (h2 >>> 16), -2048144789) ^ Math.imul(h1 ^ (h1 >>> 13), -1028477387);
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((h1 ^ this.length) >>> 0, 0);
    out.writeUInt32BE(h2 >>> 0, 4);
    return out;
  }
}

/**
 * A 64-bit fingerprint of raw bytes, four bytes a step (two multiply-rotate lanes, so high bits reach
 * low ones): about 4x faster than feeding UTF-16 units one at a time. Used for exact duplicates
 * within one run, never stored; collisions among n rows are about n²/2⁶⁵ likely.
 */
export function bytesHash(bytes: Uint8Array): Buffer {
  const n = bytes.length;
  const words = n >>> 2;
  // Whole 32-bit words through an aligned view; a line at an odd offset is copied first (a memcpy), so
  // the hash never depends on where the bytes sit.
  let view: Int32Array<ArrayBufferLike>;
  let first: number;
  if ((bytes.byteOffset & 3) === 0) {
    view = wordView(bytes.buffer);
    first = bytes.byteOffset >>> 2;
  } else {
    view = alignedCopy(bytes);
    first = 0;
  }
  let h1 = 0x9747b28c ^ n;
  let h2 = 0x3c6ef372 ^ Math.imul(n, -0x7a143595);
  for (let w = first, end = first + words; w < end; w++) {
    // Two independent multiply-rotate lanes: each step is a bijection of the lane for a given word, and
    // the rotation carries high bits down; the final mix spreads every bit over both halves.
    const k = view[w];
    h1 = Math.imul(h1 ^ k, -0x3361d2af);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 ^ k, 0x1b873593);
    h2 = (h2 << 17) | (h2 >>> 15);
  }
  for (let i = words * 4; i < n; i++) {
    h1 = Math.imul(h1 ^ bytes[i], -0x3361d2af);
    h2 = Math.imul(h2 ^ bytes[i], 0x1b873593);
  }
  h1 = fmix(h1 ^ Math.imul(h2, -0x7a143595));
  h2 = fmix(h2 ^ Math.imul(h1, -0x3d4d51cb));
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(h1 >>> 0, 0);
  out.writeUInt32BE(h2 >>> 0, 4);
  return out;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), -0x7a143595);
  h = Math.imul(h ^ (h >>> 13), -0x3d4d51cb);
  return h ^ (h >>> 16);
}

// The line reader reuses one chunk buffer, so one cached view serves every line of a chunk.
let viewedBuffer: ArrayBufferLike | undefined;
let viewWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
function wordView(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (buffer !== viewedBuffer) {
    viewedBuffer = buffer;
    viewWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  return viewWords;
}

let scratch = new Int32Array(1024);
let scratchBytes = new Uint8Array(scratch.buffer);
function alignedCopy(bytes: Uint8Array): Int32Array {
  if (bytes.length > scratchBytes.length) {
    scratch = new Int32Array(Math.ceil(bytes.length / 4) * 2);
    scratchBytes = new Uint8Array(scratch.buffer);
  }
  scratchBytes.set(bytes);
  return scratch;
}

export function contentHash(text: string): Buffer {
  const f = new Fingerprint();
  f.addString(text);
  return f.digest();
}

/**
 * Adds the near-duplicate form of a text (see normalizeForMatch) to a fingerprint. ASCII text takes a
 * single pass with no intermediate strings (state kept in locals so the loop stays in registers);
 * other text goes through Unicode normalisation first.
 */
export function addNormalized(f: Fingerprint, text: string): void {
  let h1 = f.h1;
  let h2 = f.h2;
  let length = f.length;
  let pendingSpace = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 127) {
      f.addString(normalizeForMatch(text));
      return;
    }
    const c = ASCII_FOLD[code];
    if (c === 0) {
      pendingSpace = started;
      continue;
    }
    if (pendingSpace) {
      h1 = Math.imul(h1 ^ 32, -1640531535);
      h2 = Math.imul(h2 ^ 32, 1597334677);
      length++;
      pendingSpace = false;
    }
    started = true;
    h1 = Math.imul(h1 ^ c, -1640531535);
    h2 = Math.imul(h2 ^ c, 1597334677);
    length++;
  }
  f.h1 = h1;
  f.h2 = h2;
  f.length = length;
}

/** ASCII letters and digits folded to lower case; 0 for every separator (one table look-up a character). */
const ASCII_FOLD = new Uint8Array(128);
for (let c = 48; c <= 57; c++) ASCII_FOLD[c] = c;
for (let c = 97; c <= 122; c++) ASCII_FOLD[c] = ASCII_FOLD[c - 32] = c;

/** Text for near-duplicate matching: case, punctuation and whitespace differences do not count. */
export function normalizeForMatch(text: string): string {
  // Most text is ASCII: one pass over a cheap class, no Unicode normalisation needed.
  if (ASCII.test(text)) return text.toLowerCase().replace(ASCII_SEPARATORS, ' ').trim();
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]+/gu, ' ')
    .trim();
}

const ASCII = /^[^\u0080-\uffff]*$/;
const ASCII_SEPARATORS = /[^a-z0-9]+/g;
