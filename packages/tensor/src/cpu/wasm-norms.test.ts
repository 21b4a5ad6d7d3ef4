import { afterEach, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { setCpuMatmulKernels } from './matmul.js';
import { addRmsNorm, rmsNorm } from './rms-norm.js';
import { CpuStorage, cpuData } from './storage.js';
import { simdRmsNorm } from './wasm-norms.js';
import { wasmTile } from './wasm-tile.js';

/** Rows with a spread of magnitudes (row i scaled by 4^(i mod 5 − 2)), so rstd varies over orders of magnitude. */
function rowsOf(rng: () => number, rows: number, D: number): Float32Array {
  return Float32Array.from({ length: rows * D }, (_, i) => (2 * rng() - 1) * 4 ** ((Math.floor(i / D) % 5) - 2));
}
const view = (data: Float32Array, shape: number[]): View => ({
  storage: new CpuStorage('float32', data),
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  offset: 0,
});
/** float32 ulps between a and b (both finite). */
function ulps(a: number, b: number): number {
  const i = new Int32Array(new Float32Array([a, b]).buffer);
  const key = (k: number) => (k < 0 ? -2147483648 - k : k);
  return Math.abs(key(i[0]!) - key(i[1]!));
}
/** float64 y = x · rstd · w and rstd per row (the definition). */
function reference(x: Float32Array, w: Float32Array, D: number, eps: number) {
  const y = new Float64Array(x.length);
  const rstd = new Float64Array(x.length / D);
  for (let r = 0; r < rstd.length; r++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[r * D + j]! ** 2;
    rstd[r] = 1 / Math.sqrt(ss / D + eps);
    for (let j = 0; j < D; j++) y[r * D + j] = x[r * D + j]! * rstd[r]! * w[j]!;
  }
  return { y, rstd };
}
/** Runs `fn` with the JS loops (`js`) or the SIMD kernels (`wasm`). */
function using<T>(kernels: 'js' | 'wasm', fn: () => T): T {
  const previous = setCpuMatmulKernels(kernels);
  try {
    return fn();
  } finally {
    setCpuMatmulKernels(previous);
  }
}

describe.runIf(wasmTile() !== null)('SIMD rmsNorm and addRmsNorm (wasm-norms.ts)', () => {
  afterEach(() => setCpuMatmulKernels('wasm'));
  const shapes: [number, number][] = [
    [1, 4],
    [3, 36],
    [17, 292],
    [16, 288],
    [5, 768],
  ];

  it('match float64 within half a float32 ulp of rounding (plus rstd in float64), and the JS loop within 1 ulp', () => {
    const rng = makeRng(7);
    for (const [rows, D] of shapes) {
      const x = rowsOf(rng, rows, D);
      const w = Float32Array.from({ length: D }, () => 0.5 + rng());
      const eps = 1e-5;
      // The kernel itself takes these shapes (so the SIMD path, not the JS fallback, is what is checked below).
      expect(simdRmsNorm(x, w, D, eps, new Float32Array(x.length), new Float32Array(rows))).toBe(true);
      const simd = using('wasm', () => rmsNorm(view(x, [rows, D]), view(w, [D]), eps));
      const js = using('js', () => rmsNorm(view(x, [rows, D]), view(w, [D]), eps));
      const want = reference(x, w, D, eps);
      const y = cpuData(simd.y);
      const rstd = cpuData(simd.rstd);
      let equal = 0;
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(y[i]! - want.y[i]!), `[${rows}, ${D}] element ${i}`).toBeLessThanOrEqual(
          2 ** -23 * Math.abs(want.y[i]!),
        );
        expect(ulps(y[i]!, cpuData(js.y)[i]!)).toBeLessThanOrEqual(1);
        if (y[i] === cpuData(js.y)[i]) equal++;
      }
      // Only the order of the float64 sum of squares differs: almost every float is the JS loop's.
      expect(equal).toBeGreaterThanOrEqual(0.95 * x.length);
      for (let r = 0; r < rows; r++) expect(ulps(rstd[r]!, Math.fround(want.rstd[r]!))).toBeLessThanOrEqual(1);
    }
  });

  it('addRmsNorm: sum is the float32 sum, y the rmsNorm of it, and a row of a batch equals its solo computation', () => {
    const rng = makeRng(8);
    for (const [rows, D] of shapes) {
      const a = rowsOf(rng, rows, D);
      const r = rowsOf(rng, rows, D);
      const w = Float32Array.from({ length: D }, () => 2 * rng() - 1);
      const fused = using('wasm', () => addRmsNorm(view(a, [rows, D]), view(r, [rows, D]), view(w, [D]), 1e-6));
      const sum = cpuData(fused.sum);
      expect(Array.from(sum)).toEqual(Array.from(a, (v, i) => Math.fround(v + r[i]!)));
      const alone = using('wasm', () => rmsNorm(view(Float32Array.from(sum), [rows, D]), view(w, [D]), 1e-6));
      expect(Array.from(cpuData(fused.y))).toEqual(Array.from(cpuData(alone.y)));
      expect(Array.from(cpuData(fused.rstd))).toEqual(Array.from(cpuData(alone.rstd)));
      const want = reference(Float32Array.from(sum), w, D, 1e-6);
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(cpuData(fused.y)[i]! - want.y[i]!)).toBeLessThanOrEqual(2 ** -23 * Math.abs(want.y[i]!));
      }
      const last = rows - 1;
      const one = using('wasm', () =>
        addRmsNorm(
          view(a.slice(last * D, rows * D), [1, D]),
          view(r.slice(last * D, rows * D), [1, D]),
          view(w, [D]),
          1e-6,
        ),
      );
      expect(Array.from(cpuData(one.y))).toEqual(Array.from(cpuData(fused.y).subarray(last * D, rows * D)));
    }
  });

  it('leaves D not a multiple of 4 to the JS loop', () => {
    const x = new Float32Array(14).fill(1.5);
    expect(simdRmsNorm(x, new Float32Array(7).fill(1), 7, 1e-5, new Float32Array(14), new Float32Array(2))).toBe(false);
    const y = using('wasm', () => rmsNorm(view(x, [2, 7]), view(new Float32Array(7).fill(2), [7]), 0));
    expect(Array.from(cpuData(y.y))).toEqual(new Array(14).fill(2));
  });
});
