/** The GGUF element encodings: f32 → f16 as IEEE round-to-nearest-even, q8_0 as ggml's quantize_row_q8_0_ref. */
import { describe, expect, it } from 'vitest';
import { f16ToF32 } from '../../src/models/files/safetensors.js';
import { encodeQ8_0, f32ToF16Bits } from '../../src/models/gguf/quantize.js';

describe('f32ToF16Bits', () => {
  it('gives back every finite half exactly', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf and NaN
      if (f32ToF16Bits(f16ToF32(h)) !== h) wrong.push(`0x${h.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds ties to even, overflows to infinity and rounds into subnormals', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1+2^-10: even is 1
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e9)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: ties to even 0
    expect(f32ToF16Bits(3 * 2 ** -26)).toBe(1);
    expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up out of the subnormals
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });
});

describe('encodeQ8_0', () => {
  const decode = (bytes: Uint8Array, blocks: number) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const q = new Int8Array(bytes.buffer, bytes.byteOffset);
    return Array.from({ length: blocks }, (_, b) => ({ d: view.getUint16(b * 34, true), q: Array.from(q.subarray(b * 34 + 2, b * 34 + 34)) }));
  };

  it('stores d = max|x|/127 as f16 and rounds x/d half away from zero', () => {
    const x = new Float32Array(64);
    x[0] = 127;
    x[1] = -2.5;
    x[2] = 2.5;
    x[3] = 0.49;
    x[4] = -126.5;
    // second block: all zero
    const out = new Uint8Array(68);
    encodeQ8_0(x, out);
    const [first, second] = decode(out, 2);
    expect(first.d).toBe(0x3c00); // 1.0
    expect(first.q.slice(0, 5)).toEqual([127, -3, 3, 0, -127]);
    expect(second).toEqual({ d: 0, q: new Array(32).fill(0) });
  });

  it('keeps every value within half a step of its block scale', () => {
    let seed = 9;
    const x = Float32Array.from({ length: 32 * 50 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * (seed % 7));
    const out = new Uint8Array(34 * 50);
    encodeQ8_0(x, out);
    decode(out, 50).forEach(({ d, q }, b) => {
      const scale = f16ToF32(d);
      q.forEach((v, j) => expect(Math.abs(v * scale - x[b * 32 + j])).toBeLessThanOrEqual(scale * 0.5 + Math.abs(x[b * 32 + j]) * 2e-3));
    });
  });
});
