import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { linearParts } from './linear-parts.js';
import { matmul } from './matmul.js';
import { CpuStorage, cpuData } from './storage.js';
import { heapBlock } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

const random = (rng: () => number, n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
const rows = (data: Float32Array, M: number, K: number): View => ({
  storage: new CpuStorage('float32', data),
  shape: [M, K],
  strides: [K, 1],
  offset: 0,
});

// A decode row (M = 1) against weights living in wasm memory takes the one-row path (wasmRowParts: x copied in
// once, outputs straight into the packed result); it must give the floats of one matmul per part, which batched rows
// also get, and the float64 products within float32 rounding.
describe.skipIf(!wasmTile()?.shared)('cpu linearParts: rows against weights in wasm memory', () => {
  const rng = makeRng(41);

  it('matches float64 and the per-part matmul bit for bit, with a residual and a weight at an offset', () => {
    // K = 292 (a multiple of 4, not of 8 floats or a cache line); N = 229, 1027, 3: not multiples of the kernel's
    // streams. The third weight sits after 225 rows of another matrix in one storage (a view at an offset). Every
    // storage holds ≥ 65536 floats, so all move into wasm memory.
    const K = 292;
    const widths = [229, 1027, 3];
    const shared = new CpuStorage('float32', random(rng, (225 + widths[2]!) * K));
    const weights: View[] = widths.slice(0, 2).map((n) => rows(random(rng, n * K), n, K));
    weights.push({ storage: shared, shape: [widths[2]!, K], strides: [K, 1], offset: 225 * K });
    const x = rows(random(rng, 3 * K), 3, K);
    const total = widths.reduce((a, b) => a + b, 0);
    const residual = rows(random(rng, widths[0]!), 1, widths[0]!);
    const row = (i: number): View => ({ ...x, shape: [1, K], offset: i * K });
    // Twice through the general path: every weight (large enough) moves into wasm memory on its second use.
    linearParts(x, weights, null);
    const batched = cpuData(linearParts(x, weights, null));
    for (const w of weights) expect(heapBlock(w.storage as CpuStorage)).toBeDefined();
    const X = cpuData(x.storage);
    for (const i of [0, 2]) {
      const got = cpuData(linearParts(row(i), weights, null));
      expect(got.length).toBe(total);
      let at = 0;
      for (const w of weights) {
        const n = w.shape[0]!;
        const W = cpuData(w.storage);
        const t: View = { storage: w.storage, shape: [K, n], strides: [1, K], offset: w.offset };
        const perPart = cpuData(matmul(row(i), t, []));
        expect(Array.from(got.subarray(at, at + n))).toEqual(Array.from(perPart));
        for (let j = 0; j < n; j++) {
          let want = 0;
          let magnitude = 0;
          for (let k = 0; k < K; k++) {
            want += X[i * K + k]! * W[w.offset + j * K + k]!;
            magnitude += Math.abs(X[i * K + k]! * W[w.offset + j * K + k]!);
          }
          expect(Math.abs(got[at + j]! - want)).toBeLessThanOrEqual(6e-8 * (K / 4 + 3) * magnitude);
          // Row i of the 3-row product (tiles of 4 × 2, same order of sums) is this row's product.
          expect(got[at + j]).toBe(batched[3 * at + i * n + j]);
        }
        at += n;
      }
    }
    const withResidual = cpuData(linearParts(row(1), [weights[0]!], residual));
    const plain = cpuData(linearParts(row(1), [weights[0]!], null));
    const r = cpuData(residual.storage);
    expect(Array.from(withResidual)).toEqual(Array.from(plain, (v, j) => Math.fround(v + r[j]!)));
  });

  it('several rows (x packed once for all parts) give the per-part matmul bit for bit and float64 within rounding', () => {
    const K = 36;
    const widths = [37, 290, 8];
    const weights: View[] = widths.map((n) => rows(random(rng, Math.max(n * K, 65536)), n, K));
    for (const M of [2, 5, 16, 17]) {
      const x = rows(random(rng, M * K), M, K);
      linearParts(x, weights, null); // the second use moves the weights into wasm memory
      const got = cpuData(linearParts(x, weights, null));
      for (const w of weights) expect(heapBlock(w.storage as CpuStorage)).toBeDefined();
      const X = cpuData(x.storage);
      let at = 0;
      for (const w of weights) {
        const n = w.shape[0]!;
        const W = cpuData(w.storage);
        const t: View = { storage: w.storage, shape: [K, n], strides: [1, K], offset: 0 };
        expect(Array.from(got.subarray(at, at + M * n)), `${M} rows, part of ${n}`).toEqual(
          Array.from(cpuData(matmul(x, t, []))),
        );
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < n; j++) {
            let want = 0;
            let magnitude = 0;
            for (let k = 0; k < K; k++) {
              want += X[i * K + k]! * W[j * K + k]!;
              magnitude += Math.abs(X[i * K + k]! * W[j * K + k]!);
            }
            expect(Math.abs(got[at + i * n + j]! - want)).toBeLessThanOrEqual(6e-8 * (K / 4 + 3) * magnitude);
          }
        }
        at += M * n;
      }
    }
  });
});
