import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { adamw } from './adamw.js';
import { copyInto } from './elementwise.js';
import { createCpuBackend } from './index.js';
import { matmul, setCpuMatmulKernels } from './matmul.js';
import { CpuStorage, cpuData } from './storage.js';
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

/** The same product through the float64 JS kernels (tested against a float64 loop in matmul.test.ts). */
function linearJs(x: View, w: CpuStorage, K: number, N: number): Float32Array {
  const previous = setCpuMatmulKernels('js');
  try {
    return linear(x, w, K, N);
  } finally {
    setCpuMatmulKernels(previous);
  }
}

function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThan(1e-4);
}

// The cache keeps copies of weights (b shared by the batch, ≥ 65536 floats) between calls, keyed by storage and
// checked against the storage's write version: every in-place writer of the CPU backend must bump it.
describe.skipIf(!wasmTile())('cpu matmul wasm weight cache', () => {
  const [M, K, N] = [5, 70, 1001]; // 1004 × 72 padded floats: cached
  const rng = makeRng(21);
  const x: View = {
    storage: new CpuStorage('float32', randomData(rng, M * K)),
    shape: [M, K],
    strides: [K, 1],
    offset: 0,
  };

  it('reuses the cached copy while the storage is unchanged (proved by a write that bypasses the writers)', () => {
    const w = new CpuStorage('float32', randomData(rng, N * K));
    const first = linear(x, w, K, N);
    expectClose(first, linearJs(x, w, K, N));
    // Scribbling on the array directly is outside the contract: the stale cached copy shows the cache is in use.
    w.data[0] = 1000;
    expect(Array.from(linear(x, w, K, N))).toEqual(Array.from(first));
  });

  it('sees writes through backend.write, copyInto and adamw', () => {
    const backend = createCpuBackend();
    const w = new CpuStorage('float32', randomData(rng, N * K));
    linear(x, w, K, N);
    backend.write(w, randomData(rng, N * K));
    expectClose(linear(x, w, K, N), linearJs(x, w, K, N));
    const src = new CpuStorage('float32', randomData(rng, 3 * K));
    copyInto(
      { storage: w, shape: [3, K], strides: [K, 1], offset: 7 * K },
      { storage: src, shape: [3, K], strides: [K, 1], offset: 0 },
    );
    expectClose(linear(x, w, K, N), linearJs(x, w, K, N));
    const grad = new CpuStorage('float32', randomData(rng, N * K));
    const m = new CpuStorage('float32', new Float32Array(N * K));
    const v = new CpuStorage('float32', new Float32Array(N * K));
    adamw(w, grad, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    expectClose(linear(x, w, K, N), linearJs(x, w, K, N));
  });

  it('keeps different matrices of one storage apart, and survives filling the cache', () => {
    // Two weights side by side in one storage (offsets 0 and N·K), both cached.
    const both = new CpuStorage('float32', randomData(rng, 2 * N * K));
    const second: View = { storage: both, shape: [K, N], strides: [1, K], offset: N * K };
    const secondJs = (() => {
      const previous = setCpuMatmulKernels('js');
      const r = cpuData(matmul(x, second, []));
      setCpuMatmulKernels(previous);
      return r;
    })();
    expectClose(linear(x, both, K, N), linearJs(x, both, K, N));
    expectClose(cpuData(matmul(x, second, [])) as Float32Array, secondJs as Float32Array);
    // 256 MiB of cache / ~289 KiB per weight: 1000 distinct (overlapping) weights force at least one reset.
    const many = new CpuStorage('float32', randomData(rng, (N + 1000) * K));
    for (let i = 0; i < 1000; i++) matmul(x, { storage: many, shape: [K, N], strides: [1, K], offset: i * K }, []);
    expectClose(linear(x, both, K, N), linearJs(x, both, K, N));
    expectClose(cpuData(matmul(x, second, [])) as Float32Array, secondJs as Float32Array);
  });
});
