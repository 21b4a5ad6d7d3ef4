import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { createCpuBackend } from './index.js';
import type { CpuStorage } from './storage.js';
import { moveToHeap } from './wasm-heap.js';

describe('cpu storages: arrays of freed storages are reused', () => {
  const rng = makeRng(5);
  const random = (n: number) => Float32Array.from({ length: n }, () => 2 * rng() - 1);

  it('a freed large float32 array comes back zeroed for the next storage of its length, and the freed storage is empty', () => {
    const backend = createCpuBackend();
    const size = 70001;
    const a = backend.alloc('float32', size) as CpuStorage;
    backend.write(a, random(size));
    const array = a.data;
    const pooled = backend.memory().bytesPooled;
    backend.free(a);
    expect(backend.memory().bytesPooled).toBe(pooled + 4 * size);
    expect(a.data.length).toBe(0);
    const b = backend.alloc('float32', size) as CpuStorage;
    expect(b.data).toBe(array);
    expect(b.data.every((x) => x === 0)).toBe(true);
    expect(backend.memory().bytesPooled).toBe(pooled);
    // Other lengths, small storages and int32 storages get fresh arrays.
    const c = backend.alloc('float32', size + 1) as CpuStorage;
    expect(c.data).not.toBe(array);
    const small = backend.alloc('float32', 100) as CpuStorage;
    backend.free(small);
    expect(small.data.length).toBe(100);
    const ints = backend.alloc('int32', size) as CpuStorage;
    backend.free(ints);
    expect(ints.data.length).toBe(size);
    for (const s of [b, c]) backend.free(s);
  });

  it('a storage living in wasm memory is not recycled', () => {
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
