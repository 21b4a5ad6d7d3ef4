import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { rope } from './rope.js';
import { CpuStorage } from './storage.js';

/** Float64 rotary embedding of x [B, T, H, Dh] at positions [T], written from the definition (angle p / θ^(2i/Dh)). */
function reference(x: Float32Array, shape: number[], pos: number[], theta: number, interleaved: boolean, sign: number) {
  const [B, T, H, Dh] = shape as [number, number, number, number];
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Dh / 2; i++) {
          const angle = (sign * pos[t]!) / theta ** ((2 * i) / Dh);
          const base = ((b * T + t) * H + h) * Dh;
          const i0 = interleaved ? base + 2 * i : base + i;
          const i1 = interleaved ? i0 + 1 : i0 + Dh / 2;
          out[i0] = x[i0]! * Math.cos(angle) - x[i1]! * Math.sin(angle);
          out[i1] = x[i0]! * Math.sin(angle) + x[i1]! * Math.cos(angle);
        }
  return out;
}

const view = (data: Float32Array | Int32Array, shape: number[]) => ({
  storage: new CpuStorage(data instanceof Int32Array ? 'int32' : 'float32', data),
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  offset: 0,
});

describe('cpu rope (angles cached by position)', () => {
  it('matches float64 at positions inside, across and past the cached table, repeated and out of order', () => {
    const rng = makeRng(7);
    // Positions past 4096 are computed per call; 4095/4096 straddle the table's end; repeats read cached rows.
    const positions = [5000, 3, 4095, 4096, 3, 0, 12_345, 4095, 77, 5000, 1];
    for (const [theta, Dh, interleaved, inverse] of [
      [10000, 10, false, false],
      [500, 6, true, false],
      [10000, 10, false, true],
      [1e6, 14, true, true],
    ] as const) {
      const shape = [2, positions.length, 3, Dh];
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rng() - 1);
      const pos = Int32Array.from(positions);
      const want = reference(x, shape, positions, theta, interleaved, inverse ? -1 : 1);
      // Twice: the second call reads the rows the first one cached.
      for (let round = 0; round < 2; round++) {
        const style = interleaved ? 'interleaved' : 'half';
        const got = rope(view(x, shape), view(pos, [positions.length]), theta, style, inverse) as CpuStorage;
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - want[i]!));
        // float32 output of float64 math: one rounding of values below ~1.5 in magnitude.
        expect(worst, `theta ${theta}, Dh ${Dh}, round ${round}`).toBeLessThan(1e-6);
      }
    }
  });
});
