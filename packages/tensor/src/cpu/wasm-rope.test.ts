import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { setCpuMatmulKernels } from './matmul.js';
import { rope } from './rope.js';
import { CpuStorage, cpuData } from './storage.js';
import { simdRopeHalf } from './wasm-rope.js';
import { wasmTile } from './wasm-tile.js';

const view = (data: Float32Array | Int32Array, shape: number[]): View => ({
  storage: new CpuStorage(data instanceof Int32Array ? 'int32' : 'float32', data),
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  offset: 0,
});

/** rope through the SIMD kernels (`wasm`) or the JS loop (`js`). */
function ropeWith(kernels: 'js' | 'wasm', x: View, positions: View, theta: number): Float32Array {
  const previous = setCpuMatmulKernels(kernels);
  try {
    return cpuData(rope(x, positions, theta, 'half', false)) as Float32Array;
  } finally {
    setCpuMatmulKernels(previous);
  }
}

describe.runIf(wasmTile() !== null)('SIMD rotary embedding, half layout (wasm-rope.ts)', () => {
  it('gives the JS loop’s floats bit for bit and float64 within rounding, shared and per-batch positions', () => {
    const rng = makeRng(13);
    for (const [B, T, H, Dh] of [
      [1, 16, 6, 48],
      [2, 3, 5, 8],
      [3, 5, 1, 24],
    ] as const) {
      const n = B * T * H * Dh;
      const x = Float32Array.from({ length: n }, () => 4 * rng() - 2);
      // Positions inside and past the cached angle table (4096), and per batch row.
      const shared = Int32Array.from({ length: T }, (_, t) => [3, 5000, 4095, 0, 77][t % 5]! + t);
      const perBatch = Int32Array.from({ length: B * T }, (_, i) => (i * 131) % 6000);
      for (const [pos, shape] of [
        [shared, [T]],
        [perBatch, [B, T]],
      ] as const) {
        const xv = view(x, [B, T, H, Dh]);
        const pv = view(pos, [...shape]);
        const simd = ropeWith('wasm', xv, pv, 10000);
        expect(Array.from(simd), `[${B}, ${T}, ${H}, ${Dh}]`).toEqual(Array.from(ropeWith('js', xv, pv, 10000)));
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            const p = shape.length === 2 ? pos[b * T + t]! : pos[t]!;
            for (let h = 0; h < H; h++) {
              for (let i = 0; i < Dh / 2; i++) {
                const angle = p / 10000 ** ((2 * i) / Dh);
                const i0 = ((b * T + t) * H + h) * Dh + i;
                const i1 = i0 + Dh / 2;
                const want0 = x[i0]! * Math.cos(angle) - x[i1]! * Math.sin(angle);
                const want1 = x[i0]! * Math.sin(angle) + x[i1]! * Math.cos(angle);
                expect(Math.abs(simd[i0]! - want0)).toBeLessThanOrEqual(1e-6 * (Math.abs(x[i0]!) + Math.abs(x[i1]!)));
                expect(Math.abs(simd[i1]! - want1)).toBeLessThanOrEqual(1e-6 * (Math.abs(x[i0]!) + Math.abs(x[i1]!)));
              }
            }
          }
        }
      }
    }
  });

  it('takes the kernel only for Dh a multiple of 8 (the JS loop rotates the rest)', () => {
    const angles = () => ({ cos: new Float64Array(3), sin: new Float64Array(3), at: 0 });
    expect(simdRopeHalf(new Float32Array(12), 2, 1, 6, angles, new Float32Array(12))).toBe(false);
    const x = new Float32Array(48).fill(1);
    expect(
      simdRopeHalf(
        x,
        1,
        3,
        16,
        () => ({ cos: new Float64Array(8).fill(1), sin: new Float64Array(8), at: 0 }),
        new Float32Array(48),
      ),
    ).toBe(true);
  });
});
