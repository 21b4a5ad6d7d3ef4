import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng, refProductWithMagnitude } from '../testing/reference.js';
import { matmul } from './matmul.js';
import { CpuStorage, cpuData } from './storage.js';
import { heapBlock } from './wasm-heap.js';
import { relaxedSimdSupported, setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { DOT_SHAPES, FUSED_DOT_SHAPES, tileKernels, tileModuleBytes, wasmTile } from './wasm-tile.js';

// The float32 kernels on fused multiply-adds (relaxed SIMD, wasm-tile.ts FUSED_DOT_SHAPES). They round once per
// multiply-add instead of twice, so their outputs differ from the plain kernels' (matmul-wasm.test.ts keeps those
// exact): here they are held to float64 within a bound that grows with the length of each sum, over row counts
// around the 4-row tile and its 2-row tail, N not a multiple of the streams and K not a multiple of 4.

const random = (rng: () => number, n: number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);
const matrix = (data: Float32Array, M: number, K: number): View => ({
  storage: new CpuStorage('float32', data),
  shape: [M, K],
  strides: [K, 1],
  offset: 0,
});

type Layout = 'dot' | 'axpy';
/** x [M, K] · w as the weight [N, K] read as column-major b (dot form) or as a row-major [K, N] b (axpy form). */
function product(x: View, w: CpuStorage, K: number, N: number, layout: Layout): Float32Array {
  const b: View =
    layout === 'dot'
      ? { storage: w, shape: [K, N], strides: [1, K], offset: 0 }
      : { storage: w, shape: [K, N], strides: [N, 1], offset: 0 };
  return cpuData(matmul(x, b, [])) as Float32Array;
}

/**
 * Largest |got − float64| over M × N outputs, in units of u·(terms + 3)·Σ|x_k·b_k| (u = 6e-8 ≥ 2⁻²⁴), where terms is
 * the length of each float32 sum: K / 4 per lane in the dot form (lanes k mod 4, then two adds), K in the axpy form
 * (one lane per output, k in order). At most 1 for a correct kernel, fused or not.
 */
function worstError(x: Float32Array, w: Float32Array, got: Float32Array, M: number, K: number, N: number, l: Layout) {
  const terms = l === 'dot' ? Math.ceil(K / 4) : K;
  const { want, magnitude } = refProductWithMagnitude(x, w, M, K, N, l === 'dot');
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (6e-8 * (terms + 3) * magnitude[i]!));
  }
  return worst;
}

describe.skipIf(!wasmTile()?.shared || !relaxedSimdSupported())('cpu matmul on fused multiply-adds', () => {
  const rng = makeRng(57);
  beforeAll(() => setWasmRelaxedSimd(true));
  afterAll(() => setWasmRelaxedSimd(undefined));

  it('runs the fused kernels, whose outputs differ from the plain ones in the last bits only', () => {
    const [M, K, N] = [16, 292, 1003];
    const w = new CpuStorage('float32', random(rng, N * K));
    const x = matrix(random(rng, M * K), M, K);
    for (const layout of ['dot', 'axpy'] as const) {
      product(x, w, K, N, layout);
      expect(wasmTile()!.fused).toBe(true);
      const fused = product(x, w, K, N, layout);
      setWasmRelaxedSimd(false);
      expect(wasmTile()!.fused).toBe(false);
      const plain = product(x, w, K, N, layout);
      setWasmRelaxedSimd(true);
      let differ = 0;
      let largest = 0;
      for (let i = 0; i < fused.length; i++) {
        if (fused[i] !== plain[i]) differ++;
        largest = Math.max(largest, Math.abs(fused[i]! - plain[i]!));
      }
      // One rounding fewer per multiply-add changes most outputs' last bits (|o| ~ 10 here), never more.
      expect(differ, layout).toBeGreaterThan(fused.length / 4);
      expect(largest, layout).toBeLessThan(1e-4);
    }
    expect(heapBlock(w)).toBeDefined();
  });

  it('matches float64 within a bound that grows with K, for row counts around the tile, odd N and K', () => {
    // K = 46 (not a multiple of 4): the weight's rows are copied with k padded to 48; K = 292: read in place. M = 1
    // takes the one-row kernels, 2 is one tail tile, 3 a padded tile, 5 and 17 end in a tail tile with a padding
    // row, 70 crosses a 64-row block.
    for (const [K, N] of [
      [46, 1427],
      [292, 1031],
    ] as const) {
      const wData = random(rng, N * K);
      const w = new CpuStorage('float32', wData);
      for (const M of [1, 2, 3, 5, 16, 17, 70]) {
        const xData = random(rng, M * K);
        const x = matrix(xData, M, K);
        for (const layout of ['dot', 'axpy'] as const) {
          product(x, w, K, N, layout);
          const got = product(x, w, K, N, layout);
          expect(worstError(xData, wData, got, M, K, N, layout), `M ${M}, K ${K}, N ${N}, ${layout}`).toBeLessThan(1);
        }
      }
    }
  });

  it('another instance of the module picks the same kernels; one built without fused kernels keeps the plain ones', () => {
    const instance = (fused: typeof FUSED_DOT_SHAPES | null) => {
      const module = new WebAssembly.Module(tileModuleBytes(false, DOT_SHAPES, fused));
      return tileKernels(module, new WebAssembly.Instance(module).exports, false);
    };
    const withFused = instance(FUSED_DOT_SHAPES);
    const plainOnly = instance(null);
    expect([withFused.fused, withFused.tile.name]).toEqual([true, wasmTile()!.tile.name]);
    expect(plainOnly.fused).toBe(false);
    setWasmRelaxedSimd(false);
    expect([withFused.fused, withFused.tile.name]).toEqual([false, plainOnly.tile.name]);
    setWasmRelaxedSimd(true);
  });

  it('a row of an M-row product equals the 1-row product of that row, bit for bit, in both forms', () => {
    // The one-row kernels are fused too, so a decode row gives the same floats alone or in a batch.
    const [K, N] = [292, 1031];
    const w = new CpuStorage('float32', random(rng, N * K));
    for (const M of [5, 17]) {
      const x = matrix(random(rng, M * K), M, K);
      for (const layout of ['dot', 'axpy'] as const) {
        product(x, w, K, N, layout);
        const all = product(x, w, K, N, layout);
        for (const i of [0, M - 1]) {
          const row: View = { ...x, shape: [1, K], offset: i * K };
          expect(Array.from(product(row, w, K, N, layout)), `M ${M} row ${i} ${layout}`).toEqual(
            Array.from(all.subarray(i * N, (i + 1) * N)),
          );
        }
      }
    }
  });
});
