import type { ArchConfig } from '../../../src/models/files/arch.js';

/** Rotary inverse frequencies with the declared scaling (as transformers' rope init functions). */
export function ropeInvFreq(arch: ArchConfig): Float64Array {
  const half = arch.head_dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(arch.rope_theta, (2 * i) / arch.head_dim);
  const s = arch.rope_scaling;
  if (s?.rope_type === 'linear') for (let i = 0; i < half; i++) inv[i]! /= s.factor;
  if (s?.rope_type === 'llama3') {
    const low = s.low_freq_factor ?? 1;
    const high = s.high_freq_factor ?? 4;
    const original = s.original_max_position_embeddings ?? 8192;
    const lowWavelen = original / low;
    const highWavelen = original / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen > lowWavelen) inv[i]! /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (original / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i]! / s.factor) + smooth * inv[i]!;
      }
    }
  }
  return inv;
}

/**
 * cos/sin tables [positions, head_dim] for rotate-half RoPE at positions start..start+count-1.
 * Dynamic NTK scaling changes the base once the sequence outgrows the trained length.
 */
export function ropeTables(arch: ArchConfig, start: number, count: number): { cos: Float32Array; sin: Float32Array } {
  let inv = ropeInvFreq(arch);
  const s = arch.rope_scaling;
  const seqLen = start + count;
  if (s?.rope_type === 'dynamic' && seqLen > arch.max_positions) {
    const base = arch.rope_theta * Math.pow((s.factor * seqLen) / arch.max_positions - (s.factor - 1), arch.head_dim / (arch.head_dim - 2));
    inv = inv.map((_, i) => 1 / Math.pow(base, (2 * i) / arch.head_dim));
  }
  const hd = arch.head_dim;
  const half = hd / 2;
  const cos = new Float32Array(count * hd);
  const sin = new Float32Array(count * hd);
  for (let t = 0; t < count; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (start + t) * inv[i]!;
      const c = Math.cos(angle);
      const sn = Math.sin(angle);
      cos[t * hd + i] = c;
      cos[t * hd + i + half] = c;
      sin[t * hd + i] = sn;
      sin[t * hd + i + half] = sn;
    }
  }
  return { cos, sin };
}
