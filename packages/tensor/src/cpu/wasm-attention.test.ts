import { describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { makeRng } from '../testing/reference.js';
import { pagedAttention } from './paged-attention.js';
import { CpuStorage, cpuData } from './storage.js';
import { wasmAttention } from './wasm-attention.js';
import { heapBlock, heapBytesInUse, setHeapByteLimit } from './wasm-heap.js';

const view = (data: Float32Array | Int32Array, shape: number[]): View => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { storage: new CpuStorage(data instanceof Int32Array ? 'int32' : 'float32', data), shape, strides, offset: 0 };
};

/**
 * Rows with 1, 2, 3 and 17 keys over shuffled blocks of 3 (the kernels walk each row's pool rows in position order,
 * every head per row), 4 query heads over 2 kv heads, head size D; each row's own sequence.
 */
function problem(rng: () => number, D: number) {
  const [Hq, Hkv, bs] = [4, 2, 3];
  const keys = [1, 2, 3, 17];
  const N = keys.length;
  const maxBlocks = Math.ceil(Math.max(...keys) / bs);
  const numBlocks = N * maxBlocks + 2;
  const order = Array.from({ length: numBlocks }, (_, i) => i).sort(() => rng() - 0.5);
  const idx = new Int32Array(3 * N + N * maxBlocks);
  keys.forEach((k, n) => {
    idx[n] = n;
    idx[N + n] = k;
    for (let b = 0; b < maxBlocks; b++) idx[3 * N + n * maxBlocks + b] = order[n * maxBlocks + b]!;
  });
  const random = (size: number) => Float32Array.from({ length: size }, () => 2 * rng() - 1);
  const poolShape = [numBlocks, bs, Hkv, D];
  const size = numBlocks * bs * Hkv * D;
  return {
    q: view(random(N * Hq * D), [N, Hq, D]),
    k: view(random(size), poolShape),
    v: view(random(size), poolShape),
    index: view(idx, [idx.length]),
    layout: { rows: N, seqs: N, maxBlocks, blockSize: bs },
    dims: { N, Hq, Hkv, D, bs, keys, maxBlocks },
  };
}

/** Float64 attention of every row over its keys, read through the block table. */
function reference(p: ReturnType<typeof problem>, scale: number): Float64Array {
  const { N, Hq, Hkv, D, bs, keys, maxBlocks } = p.dims;
  const [Q, K, V, idx] = [p.q, p.k, p.v, p.index].map((x) => cpuData(x.storage));
  const out = new Float64Array(N * Hq * D);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / (Hq / Hkv));
      const base = (pos: number) =>
        ((idx[3 * N + n * maxBlocks + Math.floor(pos / bs)]! * bs + (pos % bs)) * Hkv + kvh) * D;
      const s = Array.from({ length: keys[n]! }, (_, pos) => {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += Q[(n * Hq + h) * D + d]! * K[base(pos) + d]!;
        return dot * scale;
      });
      const m = Math.max(...s);
      const w = s.map((x) => Math.exp(x - m));
      const z = w.reduce((a, b) => a + b, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let pos = 0; pos < s.length; pos++) acc += w[pos]! * V[base(pos) + d]!;
        out[(n * Hq + h) * D + d] = acc / z;
      }
    }
  }
  return out;
}

/** The largest error in units of 2e-6 + 1e-5·|want| (float32 lanes against float64 sums). */
function worst(got: ArrayLike<number>, want: Float64Array): number {
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    w = Math.max(w, Math.abs(got[i]! - want[i]!) / (2e-6 + 1e-5 * Math.abs(want[i]!)));
  }
  return w;
}

describe.skipIf(!wasmAttention())('cpu paged attention on the SIMD kernels', () => {
  const rng = makeRng(31);

  it('moves the pools into wasm memory and matches float64 for head sizes 4 to 48', () => {
    // `values` sums 4 vectors of d per pass over the keys, then the 1–3 left in one pass: D = 4 is one vector; 20 a
    // 4-vector pass and a 1-vector one; 24 and 36 end in 2 and 1 vectors after one and two 4-vector passes; 12 and
    // 48 (stories-15m's heads) are a 3-vector pass alone and after a 4-vector one.
    for (const D of [4, 12, 20, 24, 36, 48]) {
      const p = problem(rng, D);
      const scale = 1 / Math.sqrt(D);
      const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, scale));
      expect(heapBlock(p.k.storage as CpuStorage), `D ${D}`).toBeDefined();
      expect(heapBlock(p.v.storage as CpuStorage), `D ${D}`).toBeDefined();
      expect(worst(got, reference(p, scale)), `D ${D}`).toBeLessThanOrEqual(1);
    }
  });

  it('keeps the JS loops, with the same results, when the pools cannot move into wasm memory', () => {
    const p = problem(rng, 20);
    const previous = setHeapByteLimit(heapBytesInUse());
    try {
      const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.3));
      expect(heapBlock(p.k.storage as CpuStorage)).toBeUndefined();
      expect(worst(got, reference(p, 0.3))).toBeLessThanOrEqual(1);
    } finally {
      setHeapByteLimit(previous);
    }
  });
});
