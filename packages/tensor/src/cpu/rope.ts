import type { RopeStyle, Storage, View } from '../backend/backend.js';
import { allocCpu, readView } from './storage.js';

/**
 * Rotary embedding on x [B, T, H, Dh]. Pair i (0 ≤ i < Dh/2) is (2i, 2i+1) for 'interleaved' and (i, i + Dh/2) for
 * 'half'; its angle at position p is p · theta^(−2i/Dh), negated when `inverse`.
 */
export function rope(x: View, positions: View, theta: number, style: RopeStyle, inverse: boolean): Storage {
  const [B, T, H, Dh] = x.shape as [number, number, number, number];
  const src = readView(x);
  const pos = readView(positions);
  const perBatch = positions.shape.length === 2;
  const half = Dh / 2;
  const out = allocCpu('float32', src.length);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = theta ** ((-2 * i) / Dh);
  const sign = inverse ? -1 : 1;
  // cos and sin of one position's angles, shared by its H heads (a decode row has H · Dh / 2 pairs, Dh / 2 angles).
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const interleaved = style === 'interleaved';
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = pos[perBatch ? b * T + t : t]!;
      for (let i = 0; i < half; i++) {
        const angle = p * invFreq[i]!;
        cos[i] = Math.cos(angle);
        sin[i] = sign * Math.sin(angle);
      }
      for (let h = 0; h < H; h++) {
        const base = ((b * T + t) * H + h) * Dh;
        for (let i = 0; i < half; i++) {
          const c = cos[i]!;
          const s = sin[i]!;
          const i0 = interleaved ? base + 2 * i : base + i;
          const i1 = interleaved ? i0 + 1 : i0 + half;
          const x0 = src[i0]!;
          const x1 = src[i1]!;
          out.data[i0] = x0 * c - x1 * s;
          out.data[i1] = x0 * s + x1 * c;
        }
      }
    }
  }
  return out;
}
