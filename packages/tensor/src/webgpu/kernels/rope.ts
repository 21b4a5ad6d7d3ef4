/**
 * Rotary position embedding, one invocation per rotated pair. The inverse frequency theta^(−2i/Dh) is
 * exp2(−i · 2·log2(theta)/Dh) with the constant from the host in float64; angle, sine and cosine are float32, so the
 * absolute angle error grows like p · 2^-24 (≈ 2.4e-4 rad at position 4096).
 *
 * @module
 */

import type { RopeStyle, View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';

const CODE = (interleaved: boolean, perBatch: boolean) => `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let half = pu(1u);
  let H = pu(2u);
  let T = pu(3u);
  let pair = i % half;
  let vec = i / half;          // index of the (b, t, h) head vector
  let bt = vec / H;            // b·T + t
  let p = f32(pos[pu(5u) + ${perBatch ? 'bt' : 'bt % T'}]);
  let angle = p * exp2(-f32(pair) * pf(7u));
  let c = cos(angle);
  let s = pf(6u) * sin(angle);
  let base = vec * 2u * half;
  let i0 = base + ${interleaved ? '2u * pair' : 'pair'};
  let i1 = i0 + ${interleaved ? '1u' : 'half'};
  let x0 = x[pu(4u) + i0];
  let x1 = x[pu(4u) + i1];
  out[i0] = x0 * c - x1 * s;
  out[i1] = x0 * s + x1 * c;
}`;

/** Rotates x [B, T, H, Dh] by position angles (negated when `inverse`). */
export function rope(
  rt: Runtime,
  x: View,
  positions: View,
  theta: number,
  style: RopeStyle,
  inverse: boolean,
): GpuStorage {
  const [B, T, H, Dh] = x.shape as [number, number, number, number];
  if (Dh % 2 !== 0) throw new Error(`webgpu.rope: head dim ${Dh} of x [${x.shape.join(', ')}] must be even`);
  const out = rt.alloc('float32', B * T * H * Dh);
  const pairs = (B * T * H * Dh) / 2;
  if (pairs === 0) return out;
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const pv = contiguousInput(rt, positions, temps);
  const perBatch = positions.shape.length === 2;
  const p = rt.pipeline(`rope:${style}:${perBatch}`, () => CODE(style === 'interleaved', perBatch));
  const sign = inverse ? 0xbf800000 : 0x3f800000; // -1.0f / 1.0f
  const params = [pairs, Dh / 2, H, T, xv.offset, pv.offset, sign, f32bits((2 * Math.log2(theta)) / Dh)];
  rt.dispatch(p, [out, xv.storage, pv.storage] as GpuStorage[], params, Math.ceil(pairs / 128));
  freeAll(rt, temps);
  return out;
}
