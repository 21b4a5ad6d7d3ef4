import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { createCpuBackend } from './index.js';
import { allocCpu, CpuStorage, cpuPooledBytes, recycleCpu } from './storage.js';
import { moveToHeap, releaseFromHeap } from './wasm-heap.js';

describe('cpu storages: freed arrays are reused', () => {
  it('a freed storage’s array comes back zeroed for the next storage of its dtype and size, and only once', () => {
    const rng = makeRng(3);
    const a = allocCpu('float32', 333);
    for (let i = 0; i < a.size; i++) a.data[i] = rng() + 1;
    const array = a.data;
    const pooled = cpuPooledBytes();
    recycleCpu(a);
    expect(cpuPooledBytes()).toBe(pooled + 333 * 4);
    expect(a.data.length).toBe(0); // the freed storage no longer reads the array another storage will own
    expect(allocCpu('int32', 333).data).not.toBe(array); // another dtype: not that array
    const b = allocCpu('float32', 333);
    expect(b.data).toBe(array);
    expect(b.data.every((v) => v === 0)).toBe(true);
    expect(cpuPooledBytes()).toBe(pooled);
    expect(allocCpu('float32', 333).data).not.toBe(array);
  });

  it('keeps neither tiny arrays nor views into a larger buffer (wasm memory)', () => {
    const pooled = cpuPooledBytes();
    expect(recycleCpu(allocCpu('float32', 5))).toBe(true); // its own buffer, too small to keep
    const buffer = new Float32Array(1000);
    expect(recycleCpu(new CpuStorage('float32', buffer.subarray(100, 400)))).toBe(false);
    expect(cpuPooledBytes()).toBe(pooled);
    const w = allocCpu('float32', 4096);
    if (moveToHeap(w, 64)) {
      // As the backend's free does: refused by the pool (its data views wasm memory), then back to the heap.
      expect(recycleCpu(w)).toBe(false);
      releaseFromHeap(w);
      expect(cpuPooledBytes()).toBe(pooled);
    }
  });

  it('kernels that accumulate into their output are exact over reused, dirty arrays', () => {
    const backend = createCpuBackend();
    const rng = makeRng(11);
    const rows = 37;
    const cols = 29;
    for (let round = 0; round < 3; round++) {
      // Dirty arrays of the output's size go back to the pool first.
      for (let k = 0; k < 3; k++) {
        const junk = backend.alloc('float32', rows * cols);
        backend.write(
          junk,
          Float32Array.from({ length: rows * cols }, () => 1e6 * rng()),
        );
        backend.free(junk);
      }
      const n = 101;
      const src = Float32Array.from({ length: n * cols }, () => 2 * rng() - 1);
      const ids = Int32Array.from({ length: n }, () => Math.floor(rng() * rows));
      const want = new Float64Array(rows * cols);
      for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) want[ids[i]! * cols + j]! += src[i * cols + j]!;
      const view = (data: Float32Array | Int32Array, shape: number[]) => ({
        storage: new CpuStorage(data instanceof Int32Array ? 'int32' : 'float32', data),
        shape,
        strides: shape.length === 2 ? [shape[1]!, 1] : [1],
        offset: 0,
      });
      const out = backend.scatterAdd(view(src, [n, cols]), view(ids, [n]), rows) as CpuStorage;
      for (let i = 0; i < want.length; i++) expect(out.data[i]).toBeCloseTo(want[i]!, 4);
      backend.free(out);
    }
  });

  it('the backend refuses a double free and counts pooled bytes in memory()', () => {
    const backend = createCpuBackend();
    const s = backend.alloc('float32', 1000);
    const before = backend.memory();
    backend.free(s);
    expect(() => backend.free(s)).toThrow(/not live \(double free\?\)/);
    expect(backend.memory().bytesInUse).toBe(before.bytesInUse - 4000);
    expect(backend.memory().bytesPooled).toBeGreaterThanOrEqual(4000);
    expect(() => createCpuBackend().free(backend.alloc('float32', 100))).toThrow(/not live/);
  });

  it('a storage living in wasm memory is not recycled, through the backend', () => {
    const backend = createCpuBackend();
    const size = 70003;
    const s = backend.alloc('float32', size) as CpuStorage;
    if (!moveToHeap(s, 4)) return; // no shared wasm memory here: nothing moves
    const pooled = backend.memory().bytesPooled;
    backend.free(s);
    expect(backend.memory().bytesPooled).toBe(pooled);
    const fresh = backend.alloc('float32', size) as CpuStorage;
    expect(fresh.data.buffer).not.toBe(s.data.buffer);
    backend.free(fresh);
  });
});
