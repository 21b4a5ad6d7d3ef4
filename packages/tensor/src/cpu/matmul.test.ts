import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { type CpuMatmulKernels, matmul, setCpuMatmulKernels } from './matmul.js';
import { CpuStorage, cpuData } from './storage.js';
import { wasmTile } from './wasm-tile.js';

/** A storage of `size` float32 values in [-1, 1), plus padding so views can start at an offset. */
function randomStorage(rng: () => number, size: number): CpuStorage {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = 2 * rng() - 1;
  return new CpuStorage('float32', data);
}

/** Element [...idx] of a view, read through its strides (independent of the kernel's layout logic). */
function at(v: View, idx: readonly number[]): number {
  let p = v.offset;
  for (let d = 0; d < idx.length; d++) p += idx[d]! * v.strides[d]!;
  return (v.storage as CpuStorage).data[p]!;
}

/** The kernels under test; set by each describe block. */
let kernels: CpuMatmulKernels = 'js';

/**
 * Checks matmul(a, b, batch) element by element against a float64 triple loop. Tolerance: the float32 rounding of
 * the exact result (2^-24 relative) plus the summation error: float64's for the JS kernels (float32 accumulation
 * would fail it), float32's over K/4 + 2 additions per lane for the SIMD kernels.
 */
function expectMatches(a: View, b: View, batch: readonly number[]): void {
  const M = a.shape.at(-2)!;
  const K = a.shape.at(-1)!;
  const N = b.shape.at(-1)!;
  const out = cpuData(matmul(a, b, batch)) as Float32Array;
  const sumError = kernels === 'js' ? 1e-13 : 6e-8 * (K / 4 + 2);
  const batchSize = batch.reduce((x, y) => x * y, 1);
  expect(out.length).toBe(batchSize * M * N);
  let worst = 0;
  for (let bi = 0; bi < batchSize; bi++) {
    const bIdx: number[] = [];
    for (let d = batch.length - 1, r = bi; d >= 0; d--) {
      bIdx[d] = r % batch[d]!;
      r = Math.floor(r / batch[d]!);
    }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let exact = 0;
        let magnitude = 0;
        for (let k = 0; k < K; k++) {
          const p = at(a, [...bIdx, i, k]) * at(b, [...bIdx, k, j]);
          exact += p;
          magnitude += Math.abs(p);
        }
        const got = out[(bi * M + i) * N + j]!;
        const err = Math.abs(got - exact) / (1.2e-7 * Math.abs(exact) + sumError * magnitude + 1e-30);
        worst = Math.max(worst, err);
      }
    }
  }
  expect(worst, `matmul [${a.shape}]·[${b.shape}] worst error / tolerance`).toBeLessThanOrEqual(1);
}

/** A 2-D (or batched) view of fresh random data, row-major or stored transposed ([cols, rows] read as its ᵀ). */
function matrix(rng: () => number, rows: number, cols: number, layout: 'row' | 'col', offset = 0): View {
  const storage = randomStorage(rng, offset + rows * cols);
  const strides = layout === 'row' ? [cols, 1] : [1, rows];
  return { storage, shape: [rows, cols], strides, offset };
}

// Sizes around the 4 × 4 tile, the 64-row block and the packed-panel chunk (32768 / (4·K) panels of 4 columns).
const sizes = [1, 2, 3, 4, 5, 7, 13, 17, 64, 67, 130];

for (const which of ['js', 'wasm'] as const) {
  describe.skipIf(which === 'wasm' && !wasmTile())(`cpu matmul, ${which} kernels`, () => {
    let previous: CpuMatmulKernels;
    beforeAll(() => {
      kernels = which;
      previous = setCpuMatmulKernels(which);
    });
    afterAll(() => {
      setCpuMatmulKernels(previous);
    });

    it('matches float64 for M, N, K around the tile and block sizes, both layouts of b', () => {
      const rng = makeRng(11);
      for (const layout of ['row', 'col'] as const) {
        for (const M of sizes) {
          for (const K of [1, 3, 4, 9, 31]) {
            for (const N of [1, 2, 3, 4, 5, 7, 17, 67]) {
              expectMatches(matrix(rng, M, K, 'row', 3), matrix(rng, K, N, layout, 5), []);
            }
          }
        }
      }
    });

    it('matches float64 when b spans several packed panel chunks with a partial last panel', () => {
      const rng = makeRng(12);
      // K = 300: 27 panels (108 columns) per chunk, so N = 251 is two full chunks and one ending 3 columns into a panel.
      expectMatches(matrix(rng, 70, 300, 'row'), matrix(rng, 300, 251, 'row'), []);
      expectMatches(matrix(rng, 70, 300, 'row'), matrix(rng, 300, 251, 'col'), []);
      // Decode-shaped: one row and 16 rows against a transposed weight.
      expectMatches(matrix(rng, 1, 288, 'row'), matrix(rng, 288, 301, 'col', 7), []);
      expectMatches(matrix(rng, 16, 288, 'row'), matrix(rng, 288, 301, 'col', 7), []);
    });

    it('copies a transposed or strided a, and a b in neither layout, without changing results', () => {
      const rng = makeRng(13);
      for (const [M, K, N] of [
        [5, 7, 3],
        [9, 13, 11],
        [1, 6, 5],
      ] as const) {
        const aT = matrix(rng, M, K, 'col', 2);
        // Every other column of a [K, 2N] matrix: last-dim stride 2.
        const wide = randomStorage(rng, 4 + K * 2 * N);
        const bStrided: View = { storage: wide, shape: [K, N], strides: [2 * N, 2], offset: 4 };
        expectMatches(aT, matrix(rng, K, N, 'row'), []);
        expectMatches(matrix(rng, M, K, 'row'), bStrided, []);
        expectMatches(aT, bStrided, []);
      }
    });

    it('reads broadcast (stride-0) and offset batch dims of either operand', () => {
      const rng = makeRng(14);
      const [M, K, N] = [6, 5, 7];
      // a [2, 3, M, K] with its first batch dim broadcast; b [3, K, N] transposed per batch, broadcast over the first.
      const aStore = randomStorage(rng, 1 + 3 * M * K);
      const a: View = { storage: aStore, shape: [2, 3, M, K], strides: [0, M * K, K, 1], offset: 1 };
      const bStore = randomStorage(rng, 2 + 3 * K * N);
      const bCol: View = { storage: bStore, shape: [2, 3, K, N], strides: [0, K * N, 1, K], offset: 2 };
      const bRow: View = { storage: bStore, shape: [2, 3, K, N], strides: [0, K * N, N, 1], offset: 2 };
      expectMatches(a, bCol, [2, 3]);
      expectMatches(a, bRow, [2, 3]);
      // A weight shared by every batch entry (b's batch strides all 0), a contiguous batched a.
      const w: View = { storage: bStore, shape: [2, 3, K, N], strides: [0, 0, 1, K], offset: 0 };
      const aFull: View = {
        storage: randomStorage(rng, 6 * M * K),
        shape: [2, 3, M, K],
        strides: [3 * M * K, M * K, K, 1],
        offset: 0,
      };
      expectMatches(aFull, w, [2, 3]);
    });

    it('returns empty or zero results for zero-sized dims', () => {
      const rng = makeRng(15);
      expect(cpuData(matmul(matrix(rng, 0, 4, 'row'), matrix(rng, 4, 3, 'row'), [])).length).toBe(0);
      expect(cpuData(matmul(matrix(rng, 4, 3, 'row'), matrix(rng, 3, 0, 'col'), [])).length).toBe(0);
      const zeroK = cpuData(matmul(matrix(rng, 5, 0, 'row'), matrix(rng, 0, 6, 'col'), []));
      expect(Array.from(zeroK)).toEqual(new Array(30).fill(0));
    });
  });
}

describe('cpu matmul kernels', () => {
  it('WebAssembly SIMD is available in this runtime (otherwise the wasm tests above are skipped)', () => {
    expect(wasmTile(), 'Node ≥ 16 has WebAssembly SIMD').not.toBeNull();
  });

  it('wasm kernels agree with the float64 JS kernels when b spans several 64 MiB column chunks', () => {
    // K = 4095 (padded to 4096): about 4090 columns of b fit the budget, so N = 4103 makes a full and a partial chunk.
    const rng = makeRng(17);
    const [M, K, N] = [3, 4095, 4103];
    const a = matrix(rng, M, K, 'row');
    const A = cpuData(a.storage) as Float32Array;
    for (const layout of ['row', 'col'] as const) {
      const b = matrix(rng, K, N, layout);
      const Bd = cpuData(b.storage) as Float32Array;
      const previous = setCpuMatmulKernels('wasm');
      const wasm = cpuData(matmul(a, b, []));
      setCpuMatmulKernels('js');
      const js = cpuData(matmul(a, b, []));
      setCpuMatmulKernels(previous);
      let worst = 0;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let magnitude = 0;
          for (let k = 0; k < K; k++) {
            magnitude += Math.abs(A[i * K + k]! * Bd[layout === 'row' ? k * N + j : j * K + k]!);
          }
          const err = Math.abs(wasm[i * N + j]! - js[i * N + j]!) / (6e-8 * (K / 4 + 3) * magnitude);
          worst = Math.max(worst, err);
        }
      }
      expect(worst, `${layout}-major b`).toBeLessThanOrEqual(1);
    }
  });

  it('a row of an M-row product equals the 1-row product of that row, bit for bit (batched decode = single)', () => {
    for (const which of ['js', 'wasm'] as const) {
      const previous = setCpuMatmulKernels(which);
      try {
        const rng = makeRng(16);
        for (const layout of ['row', 'col'] as const) {
          const [M, K, N] = [13, 37, 29];
          const a = matrix(rng, M, K, 'row');
          const b = matrix(rng, K, N, layout);
          const all = cpuData(matmul(a, b, []));
          for (const i of [0, 5, 12]) {
            const row: View = { ...a, shape: [1, K], offset: a.offset + i * K };
            const one = cpuData(matmul(row, b, []));
            expect(Array.from(one), `${which} ${layout} row ${i}`).toEqual(
              Array.from(all.subarray(i * N, (i + 1) * N)),
            );
          }
        }
      } finally {
        setCpuMatmulKernels(previous);
      }
    }
  });
});
