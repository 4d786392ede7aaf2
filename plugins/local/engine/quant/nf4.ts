/**
 * NF4 ("4-bit NormalFloat", Dettmers et al. 2023, QLoRA) block-wise quantisation, bit-compatible
 * with bitsandbytes: the 16 levels are bitsandbytes' `get_4bit_type('nf4')` table; each block of
 * `block_size` consecutive values (of the row-major flattened weight) keeps one float32 absmax; a
 * value's code is the nearest level of value·(1/absmax) (first level on a tie, as `torch.argmin`
 * in bitsandbytes' default `quantize_4bit` kernel); two codes share a byte, the first in the high
 * nibble. ONNX Runtime's com.microsoft MatMulBnb4 reads exactly this layout (quant_type 1).
 */

/** bitsandbytes `functional.get_4bit_type('nf4')` (also `backends/utils.py` CODE['nf4']). */
export const NF4_CODE: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

/** QLoRA's block size (bitsandbytes' default for 4-bit weights). */
export const NF4_BLOCK = 64;

const CODE32 = Float32Array.from(NF4_CODE);

export interface Nf4Tensor {
  /** ceil(n / 2) bytes, two codes a byte (element 2i in the high nibble). */
  packed: Uint8Array;
  /** One float32 scale per block: ceil(n / block_size). */
  absmax: Float32Array;
  /** Number of values (the weight's element count). */
  size: number;
  block_size: number;
}

/** Index of the nearest NF4 level to `s` (s in [-1, 1]), in float32 arithmetic, first on ties. */
function nearestCode(s: number): number {
  let best = 0;
  let bestDiff = Infinity;
  for (let c = 0; c < 16; c++) {
    const d = Math.fround(Math.abs(Math.fround(s - CODE32[c]!)));
    if (d < bestDiff) {
      bestDiff = d;
      best = c;
    }
  }
  return best;
}

/** Quantises a float32 tensor (any shape, flattened row-major) to NF4 with per-block absmax. */
export function quantizeNf4(data: Float32Array, blockSize = NF4_BLOCK): Nf4Tensor {
  const n = data.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(Math.ceil(n / 2));
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(data[i]!));
    absmax[b] = m;
    // bitsandbytes multiplies by the float32 reciprocal; an all-zero block maps to level 0.0 (code 7)
    const inv = m > 0 ? Math.fround(1 / Math.fround(m)) : 0;
    for (let i = start; i < end; i++) {
      const s = m > 0 ? Math.min(1, Math.max(-1, Math.fround(data[i]! * inv))) : 0;
      const code = nearestCode(s);
      packed[i >> 1]! |= i % 2 === 0 ? code << 4 : code;
    }
  }
  return { packed, absmax, size: n, block_size: blockSize };
}

/** The float32 values an NF4 tensor stands for: level[code] · absmax[block]. */
export function dequantizeNf4(q: Nf4Tensor): Float32Array {
  const out = new Float32Array(q.size);
  for (let i = 0; i < q.size; i++) {
    const byte = q.packed[i >> 1]!;
    const code = i % 2 === 0 ? byte >> 4 : byte & 15;
    out[i] = CODE32[code]! * q.absmax[Math.floor(i / q.block_size)]!;
  }
  return out;
}
