import { FinetuneError } from '../../errors.js';

/**
 * The element types a GGUF export writes, with ggml's type ids (ggml.h `enum ggml_type`) and
 * sizes. Q8_0 is ggml's block format: 32 values share one f16 scale, each stored as an int8.
 */
export const GGML_TYPES = {
  f32: { id: 0, block: 1, bytes: 4 },
  f16: { id: 1, block: 1, bytes: 2 },
  q8_0: { id: 8, block: 32, bytes: 34 },
} as const;

export type GgmlType = keyof typeof GGML_TYPES;

/** Bytes `count` values take in `type` (count a multiple of the type's block). */
export function ggmlBytes(type: GgmlType, count: number): number {
  const t = GGML_TYPES[type];
  return (count / t.block) * t.bytes;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of the f32 with bits `x`, rounded to nearest even (as ggml's and numpy's conversions do). */
function halfFromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x38800000 && abs < 0x47800000) {
    // Normal halves (and values that round up to infinity): rebias the exponent by 112, add the
    // round-to-nearest-even bias, and let a carry ripple into the exponent.
    return sign | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13);
  }
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = h · 2^-24, so h is the 24-bit significand shifted right by 14 - e, rounded to nearest even.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let h = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is the right rounding, up to infinity
  return sign | h;
}

export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  return halfFromBits(u32Scratch[0]);
}

/** Typed-array views read and write the host's byte order; GGUF is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes f32 values as little-endian binary16. */
export function encodeF16(data: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  if (LITTLE_ENDIAN && out.byteOffset % 2 === 0) {
    const halves = new Uint16Array(out.buffer, out.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) halves[i] = halfFromBits(bits[i]);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < bits.length; i++) view.setUint16(i * 2, halfFromBits(bits[i]), true);
}

const QK8_0 = 32;

/**
 * ggml's quantize_row_q8_0_ref, in float32 arithmetic: per block of 32, d = max|x| / 127 stored as
 * f16, q = roundf(x · (1/d)) as int8 (round half away from zero; a zero block stores d 0, q 0).
 */
export function encodeQ8_0(data: Float32Array, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const q = new Int8Array(out.buffer, out.byteOffset, out.byteLength);
  const scaled = new Float32Array(QK8_0); // storing rounds x · (1/d) to float32, as the C product is
  const blocks = data.length / QK8_0;
  for (let b = 0; b < blocks; b++) {
    const from = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const x = data[from + j];
      const a = x < 0 ? -x : x;
      if (a > amax) amax = a;
    }
    const d = Math.fround(amax / 127);
    const inverse = d ? Math.fround(1 / d) : 0;
    const at = b * GGML_TYPES.q8_0.bytes;
    view.setUint16(at, f32ToF16Bits(d), true);
    for (let j = 0; j < QK8_0; j++) scaled[j] = data[from + j] * inverse;
    for (let j = 0; j < QK8_0; j++) {
      const x = scaled[j];
      q[at + 2 + j] = x < 0 ? -((0.5 - x) | 0) : (x + 0.5) | 0; // roundf: half away from zero (|x| ≤ 127, so | 0 floors)
    }
  }
}

/** Throws when q8_0 cannot hold a tensor: its rows (ggml's ne0) must be whole blocks of 32. */
export function checkQuantizable(name: string, shape: readonly number[], fallbackField: string): void {
  const row = shape[shape.length - 1];
  if (row % QK8_0 === 0) return;
  throw new FinetuneError('INVALID_INPUT', `q8_0 cannot hold tensor ${name}: its rows have ${row} values, not a multiple of ${QK8_0} (shape [${shape.join(', ')}]).`, {
    recovery: `Pass ${fallbackField}: "f16" (or "f32") to keep such tensors unquantized as llama.cpp's converter does, or export with type "f16".`,
    details: { field: fallbackField },
  });
}
