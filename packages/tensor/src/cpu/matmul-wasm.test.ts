import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { adamw } from './adamw.js';
import { copyInto } from './elementwise.js';
import { createCpuBackend } from './index.js';
import { matmul, setCpuMatmulKernels } from './matmul.js';
import { bSource } from './matmul-wasm.js';
import { CpuStorage, cpuData } from './storage.js';
import { HEAP_MIN_FLOATS, heapBlock, heapBytesInUse } from './wasm-heap.js';
import { setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { wasmTile } from './wasm-tile.js';

function randomData(rng: () => number, size: number): Float32Array {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = 2 * rng() - 1;
  return data;
}

/** x [M, K] · wᵀ with w a [N, K] weight, through the wasm kernels. */
function linear(x: View, w: CpuStorage, K: number, N: number): Float32Array {
  return cpuData(matmul(x, { storage: w, shape: [K, N], strides: [1, K], offset: 0 }, [])) as Float32Array;
}

function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThan(1e-4);
}

/** x [M, K] · b with b a row-major [K, N] matrix (a weight stored [in, out]). */
function rowMajor(x: View, w: CpuStorage, K: number, N: number, offset = 0): Float32Array {
  return cpuData(matmul(x, { storage: w, shape: [K, N], strides: [N, 1], offset }, [])) as Float32Array;
}

function randomView(rng: () => number, M: number, K: number): View {
  return { storage: new CpuStorage('float32', randomData(rng, M * K)), shape: [M, K], strides: [K, 1], offset: 0 };
}

/** The product through the float64 JS kernels (tested against a float64 loop in matmul.test.ts). */
function withJs<T>(fn: () => T): T {
  const previous = setCpuMatmulKernels('js');
  try {
    return fn();
  } finally {
    setCpuMatmulKernels(previous);
  }
}

// A storage used twice as b at the same write version (a weight) moves into wasm memory, where the kernels read it
// in place in both layouts; every in-place writer of the CPU backend then writes there.
describe.skipIf(!wasmTile()?.shared)('cpu matmul: weights living in wasm memory', () => {
  const rng = makeRng(21);
  // The plain SIMD kernels, whose sums these tests bound exactly; the fused ones: matmul-wasm-fused.test.ts.
  beforeAll(() => setWasmRelaxedSimd(false));
  afterAll(() => setWasmRelaxedSimd(undefined));

  it('moves a weight on its second use, keeps its contents, and reads it in place in both layouts', () => {
    for (const [K, N] of [
      [72, 1001],
      [68, 2053],
    ] as const) {
      const w = new CpuStorage('float32', randomData(rng, N * K));
      const original = w.data.slice();
      for (const M of [1, 2, 5, 16]) {
        const x = randomView(rng, M, K);
        const want = withJs(() => linear(x, w, K, N));
        expectClose(linear(x, w, K, N), want);
        expectClose(linear(x, w, K, N), want);
        const wantRows = withJs(() => rowMajor(x, w, K, N));
        expectClose(rowMajor(x, w, K, N), wantRows);
      }
      expect(heapBlock(w)).toBeDefined();
      expect(bSource(w, [0], true, K, N).kind).toBe('dot');
      expect(bSource(w, [0], false, K, N).kind).toBe('axpy');
      expect(w.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Array.from(w.data)).toEqual(Array.from(original));
    }
  });

  it('a row of an M-row product equals the 1-row product of that row, bit for bit, in place', () => {
    const [M, K, N] = [13, 76, 1003];
    const w = new CpuStorage('float32', randomData(rng, N * K));
    const x = randomView(rng, M, K);
    for (const product of [linear, rowMajor]) {
      product(x, w, K, N);
      const all = product(x, w, K, N);
      for (const i of [0, 5, 12]) {
        const row: View = { ...x, shape: [1, K], offset: i * K };
        expect(Array.from(product(row, w, K, N))).toEqual(Array.from(all.subarray(i * N, (i + 1) * N)));
      }
    }
  });

  it('row counts around the 4-row tile and its 2-row tail match float64 in place, each row as its 1-row product', () => {
    // M = 4q + 2 ends in a tail tile, 4q + 1 in a tail tile with a padding row, 4q + 3 in a padded 4-row tile; 66 and
    // 130 put the tail after one or two full 64-row blocks. K = 46 (not a multiple of 4) copies the weight's rows
    // with k padded to 48, K = 64 reads it in place; N is odd.
    for (const [K, N] of [
      [46, 1427],
      [64, 1031],
    ] as const) {
      const w = new CpuStorage('float32', randomData(rng, N * K));
      for (const M of [2, 3, 5, 6, 7, 9, 66, 130]) {
        const x = randomView(rng, M, K);
        linear(x, w, K, N);
        const got = linear(x, w, K, N);
        expect(bSource(w, [0], true, K, N).kind).toBe(K % 4 === 0 ? 'dot' : 'copy');
        const X = cpuData(x.storage);
        let worst = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let want = 0;
            let magnitude = 0;
            for (let k = 0; k < K; k++) {
              want += X[i * K + k]! * w.data[j * K + k]!;
              magnitude += Math.abs(X[i * K + k]! * w.data[j * K + k]!);
            }
            worst = Math.max(worst, Math.abs(got[i * N + j]! - want) / (6e-8 * (K / 4 + 3) * magnitude));
          }
        }
        expect(worst, `M ${M}, K ${K}, N ${N}`).toBeLessThanOrEqual(1);
        for (const i of [0, M - 1]) {
          const row: View = { ...x, shape: [1, K], offset: i * K };
          expect(Array.from(linear(row, w, K, N)), `M ${M} row ${i}`).toEqual(
            Array.from(got.subarray(i * N, (i + 1) * N)),
          );
        }
      }
    }
  });

  it('one row against N around multiples of the far streams of the one-row kernel matches float64 in place', () => {
    // Stream c of the one-row kernel reads rows [c·q, (c + 1)·q) of the weight, q = ⌈N / 8⌉ (GEMV_COLS): N below, at
    // and just past multiples of 8 end in padding rows read from the weight's block and discarded. K (a multiple of
    // 4) makes each weight large enough to move into wasm memory.
    for (const N of [1, 3, 7, 8, 9, 15, 17, 63, 65, 290]) {
      const K = 4 * Math.ceil(HEAP_MIN_FLOATS / N / 4) + 4;
      const w = new CpuStorage('float32', randomData(rng, N * K));
      const x = randomView(rng, 1, K);
      linear(x, w, K, N);
      const got = linear(x, w, K, N);
      expect(heapBlock(w), `N ${N}`).toBeDefined();
      const X = cpuData(x.storage);
      for (let j = 0; j < N; j++) {
        let want = 0;
        let magnitude = 0;
        for (let k = 0; k < K; k++) {
          want += X[k]! * w.data[j * K + k]!;
          magnitude += Math.abs(X[k]! * w.data[j * K + k]!);
        }
        expect(Math.abs(got[j]! - want), `N ${N}, column ${j}`).toBeLessThanOrEqual(6e-8 * (K / 4 + 3) * magnitude);
      }
    }
  });

  it('a storage used once as b stays on the JS heap', () => {
    const [K, N] = [64, 1100];
    const x = randomView(rng, 3, K);
    for (let step = 0; step < 3; step++) {
      const w = new CpuStorage('float32', randomData(rng, N * K));
      linear(x, w, K, N);
      expect(heapBlock(w)).toBeUndefined();
    }
  });

  it('a buffer rewritten in place between uses (a KV cache) moves on its second use and reads its latest contents', () => {
    // One product per write, as in a decode step: keys [S, Dh] as column-major b (q · kᵀ), or values [S, Dh] as
    // row-major b (p · v), at odd span lengths. (The float64 JS kernels do not count as a use.)
    const [maxSeq, Dh] = [1031, 68];
    const backend = createCpuBackend();
    const cache = new CpuStorage('float32', randomData(rng, maxSeq * Dh));
    for (const [i, span] of [5, 13, 1031, 7].entries()) {
      backend.write(cache, randomData(rng, maxSeq * Dh));
      const [a, b]: [View, View] =
        i % 2 === 0
          ? [randomView(rng, 1, Dh), { storage: cache, shape: [Dh, span], strides: [1, Dh], offset: 0 }]
          : [randomView(rng, 3, span), { storage: cache, shape: [span, Dh], strides: [Dh, 1], offset: 0 }];
      const want = withJs(() => cpuData(matmul(a, b, [])) as Float32Array);
      expectClose(cpuData(matmul(a, b, [])) as Float32Array, want);
      if (i >= 1) expect(heapBlock(cache)).toBeDefined();
    }
    expect(heapBlock(cache)).toBeDefined();
  });

  it('sees writes through backend.write, copyInto and adamw', () => {
    const backend = createCpuBackend();
    const [M, K, N] = [5, 72, 1001];
    const x = randomView(rng, M, K);
    const w = new CpuStorage('float32', randomData(rng, N * K));
    linear(x, w, K, N);
    linear(x, w, K, N);
    expect(heapBlock(w)).toBeDefined();
    backend.write(w, randomData(rng, N * K));
    expectClose(
      linear(x, w, K, N),
      withJs(() => linear(x, w, K, N)),
    );
    const src = new CpuStorage('float32', randomData(rng, 3 * K));
    copyInto(
      { storage: w, shape: [3, K], strides: [K, 1], offset: 7 * K },
      { storage: src, shape: [3, K], strides: [K, 1], offset: 0 },
    );
    expectClose(
      linear(x, w, K, N),
      withJs(() => linear(x, w, K, N)),
    );
    const grad = new CpuStorage('float32', randomData(rng, N * K));
    const m = new CpuStorage('float32', new Float32Array(N * K));
    const v = new CpuStorage('float32', new Float32Array(N * K));
    adamw(w, grad, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    expectClose(
      linear(x, w, K, N),
      withJs(() => linear(x, w, K, N)),
    );
  });

  it('keeps different matrices of one storage apart, and reads a weight at an offset', () => {
    const [K, N] = [72, 1001];
    const both = new CpuStorage('float32', randomData(rng, 2 * N * K));
    const x = randomView(rng, 3, K);
    const second: View = { storage: both, shape: [K, N], strides: [1, K], offset: N * K };
    const want = withJs(() => [linear(x, both, K, N), cpuData(matmul(x, second, [])) as Float32Array]);
    for (let i = 0; i < 2; i++) {
      expectClose(linear(x, both, K, N), want[0]!);
      expectClose(cpuData(matmul(x, second, [])) as Float32Array, want[1]!);
    }
    expect(heapBlock(both)).toBeDefined();
    // A row-major view that ends at the storage's end reads past its last row only into the padding.
    const tail = withJs(() => rowMajor(x, both, K, N, N * K));
    expectClose(rowMajor(x, both, K, N, N * K), tail);
  });

  it("returns a freed weight's memory to the heap, which the next weight reuses", () => {
    const backend = createCpuBackend();
    const [K, N] = [64, 1024];
    const x = randomView(rng, 2, K);
    const place = () => {
      const w = backend.alloc('float32', N * K) as CpuStorage;
      backend.write(w, randomData(rng, N * K));
      linear(x, w, K, N);
      linear(x, w, K, N);
      return w;
    };
    const first = place();
    const block = heapBlock(first)!;
    const used = heapBytesInUse();
    expect(block.floats).toBeGreaterThanOrEqual(N * K);
    backend.free(first);
    expect(heapBytesInUse()).toBe(used - 4 * block.floats);
    expect(heapBlock(place())!.start).toBeLessThanOrEqual(block.start);
  });
});
