import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { encodeHalf, halfValueTable } from '../formats/half-precision.js';
import { makeRng } from '../testing/reference.js';
import { setCpuThreads, splitProducts, startCpuHelpers } from './cpu-threads.js';
import { pagedAttention } from './paged-attention.js';
import { CpuStorage, cpuData } from './storage.js';
import { wasmAttention } from './wasm-attention.js';
import { heapBlock, heapBytesInUse, setHeapByteLimit } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

const view = (data: Float32Array | Int32Array, shape: number[]): View => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { storage: new CpuStorage(data instanceof Int32Array ? 'int32' : 'float32', data), shape, strides, offset: 0 };
};

interface Shape {
  /** Query heads, kv heads, head size, positions per block. */
  Hq: number;
  Hkv: number;
  D: number;
  bs: number;
  /** Per row: its sequence and its keys (positions [0, keys) of that sequence). */
  rowSeq: number[];
  keys: number[];
}

/**
 * Rows with 1, 2, 3, 17 and 0 keys, each its own sequence, over shuffled blocks of 3 (keys not a multiple of the 8
 * keys per pass or of the block), 4 query heads over 2 kv heads, head size D.
 */
const small = (D: number): Shape => ({ Hq: 4, Hkv: 2, D, bs: 3, rowSeq: [0, 1, 2, 3, 4], keys: [1, 2, 3, 17, 0] });

/** A step of `shape` with random q, pools and a shuffled block table. */
function problem(rng: () => number, shape: Shape) {
  const { Hq, Hkv, D, bs, rowSeq, keys } = shape;
  const N = keys.length;
  const seqs = Math.max(...rowSeq) + 1;
  const maxBlocks = Math.max(1, Math.ceil(Math.max(...keys) / bs));
  const numBlocks = seqs * maxBlocks + 2;
  const order = Array.from({ length: numBlocks }, (_, i) => i).sort(() => rng() - 0.5);
  const idx = new Int32Array(3 * N + seqs * maxBlocks);
  keys.forEach((k, n) => {
    idx[n] = rowSeq[n]!;
    idx[N + n] = k;
  });
  for (let i = 0; i < seqs * maxBlocks; i++) idx[3 * N + i] = order[i]!;
  const random = (size: number) => Float32Array.from({ length: size }, () => 2 * rng() - 1);
  const poolShape = [numBlocks, bs, Hkv, D];
  const size = numBlocks * bs * Hkv * D;
  return {
    q: view(random(N * Hq * D), [N, Hq, D]),
    k: view(random(size), poolShape),
    v: view(random(size), poolShape),
    index: view(idx, [idx.length]),
    layout: { rows: N, seqs, maxBlocks, blockSize: bs },
    dims: { N, Hq, Hkv, D, bs, keys, maxBlocks },
  };
}

/** Float64 attention of every row over its keys, read through the block table. */
function reference(p: ReturnType<typeof problem>, scale: number): Float64Array {
  const { N, Hq, Hkv, D, bs, keys, maxBlocks } = p.dims;
  const [Q, K, V, idx] = [p.q, p.k, p.v, p.index].map((x) => cpuData(x.storage));
  const out = new Float64Array(N * Hq * D);
  for (let n = 0; n < N; n++) {
    const count = keys[n]!;
    if (count === 0) continue; // no keys: zeros
    // Float offset of each key's pool row (all kv heads), from the row's sequence's block table.
    const rowAt = Float64Array.from({ length: count }, (_, pos) => {
      const block = idx[3 * N + idx[n]! * maxBlocks + Math.floor(pos / bs)]!;
      return (block * bs + (pos % bs)) * Hkv * D;
    });
    const w = new Float64Array(count);
    for (let h = 0; h < Hq; h++) {
      const head = Math.floor(h / (Hq / Hkv)) * D;
      const q = (n * Hq + h) * D;
      let m = Number.NEGATIVE_INFINITY;
      for (let pos = 0; pos < count; pos++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += Q[q + d]! * K[rowAt[pos]! + head + d]!;
        w[pos] = dot * scale;
        m = Math.max(m, w[pos]!);
      }
      let z = 0;
      for (let pos = 0; pos < count; pos++) {
        w[pos] = Math.exp(w[pos]! - m);
        z += w[pos]!;
      }
      for (let pos = 0; pos < count; pos++) {
        for (let d = 0; d < D; d++) out[q + d] = out[q + d]! + w[pos]! * V[rowAt[pos]! + head + d]!;
      }
      for (let d = 0; d < D; d++) out[q + d] = out[q + d]! / z;
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

describe.skipIf(!wasmAttention())('cpu paged attention on the SIMD kernel', () => {
  const rng = makeRng(31);
  beforeAll(() => setCpuThreads(1));
  afterAll(() => setCpuThreads(undefined));

  it('moves the pools into wasm memory and matches float64 for head sizes 4 to 64, empty rows as zeros', () => {
    for (const D of [4, 12, 20, 36, 48, 64]) {
      const p = problem(rng, small(D));
      const scale = 1 / Math.sqrt(D);
      const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, scale));
      expect(heapBlock(p.k.storage as CpuStorage), `D ${D}`).toBeDefined();
      expect(heapBlock(p.v.storage as CpuStorage), `D ${D}`).toBeDefined();
      expect(worst(got, reference(p, scale)), `D ${D}`).toBeLessThanOrEqual(1);
      const empty = 4 * p.dims.Hq * D;
      expect(Array.from(got.subarray(empty, empty + p.dims.Hq * D)).every((x) => x === 0)).toBe(true);
    }
  });

  it('matches float64 for prefill rows of one sequence beside decode rows, one kv head for 3 query heads', () => {
    // Rows 0–6: a causal chunk of sequence 0 at positions 40–46; rows 7–8: decodes of sequences 1 and 2.
    const keys = [41, 42, 43, 44, 45, 46, 47, 9, 64];
    const shape = { Hq: 3, Hkv: 1, D: 20, bs: 5, rowSeq: [0, 0, 0, 0, 0, 0, 0, 1, 2], keys };
    const p = problem(rng, shape);
    const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.2));
    expect(worst(got, reference(p, 0.2))).toBeLessThanOrEqual(1);
  });

  it('runs a step whose rows do not fit the work area at once in turns, matching float64', () => {
    // 28 rows of one sequence at ~300 000 keys: each row's scratch is ~2.4 MB, so the 64 MiB work area takes 26.
    const keys = Array.from({ length: 28 }, (_, n) => 299_973 + n);
    const p = problem(rng, { Hq: 1, Hkv: 1, D: 4, bs: 16, rowSeq: keys.map(() => 0), keys });
    const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.5));
    expect(heapBlock(p.k.storage as CpuStorage)).toBeDefined();
    expect(worst(got, reference(p, 0.5))).toBeLessThanOrEqual(1);
  });

  it('falls back to the JS loops for a head size that is not a multiple of 4, matching float64', () => {
    const p = problem(rng, small(6));
    const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.4));
    expect(heapBlock(p.k.storage as CpuStorage)).toBeUndefined();
    expect(worst(got, reference(p, 0.4))).toBeLessThanOrEqual(1);
  });

  it('keeps the JS loops, with the same results, when the pools cannot move into wasm memory', () => {
    const p = problem(rng, small(20));
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

/** `pool` (a float32 pool view) as a pool of `dtype` holding its values rounded, and a float32 view of those values. */
function halfPool(pool: View, dtype: 'float16' | 'bfloat16'): { half: View; values: View } {
  const bits = encodeHalf(dtype, cpuData(pool.storage));
  const table = halfValueTable(dtype);
  const values = Float32Array.from(bits, (b) => table[b]!);
  return { half: { ...pool, storage: new CpuStorage(dtype, bits) }, values: view(values, [...pool.shape]) };
}

describe.skipIf(!wasmAttention())('cpu paged attention on half pools (the SIMD kernels that widen halves)', () => {
  const rng = makeRng(43);
  beforeAll(() => setCpuThreads(1));
  afterAll(() => setCpuThreads(undefined));

  it.each(['float16', 'bfloat16'] as const)('widens every %s bit pattern exactly', (dtype) => {
    // 1024 rows, each its own sequence of 8 positions (one block, a whole pass of the kernel: no pad keys, whose 0·V
    // would turn an infinite value into NaN). Position 0 holds key 0 and 64 value bits; positions 1–7 keys of −1000
    // and values 0, so with q all ones the weights are 1 and exactly 0: the output row is position 0's values exactly.
    // The rows hold every bit pattern once: ±0, subnormals, ±∞, NaNs.
    const [D, rows, bs] = [64, 1024, 8];
    const bits = new Uint16Array(rows * bs * D);
    const keyBits = new Uint16Array(rows * bs * D).fill(encodeHalf(dtype, [-1000])[0]!);
    for (let n = 0; n < rows; n++) {
      for (let d = 0; d < D; d++) {
        bits[n * bs * D + d] = n * D + d;
        keyBits[n * bs * D + d] = 0;
      }
    }
    const idx = new Int32Array(4 * rows);
    for (let n = 0; n < rows; n++) {
      idx[n] = n;
      idx[rows + n] = bs;
      idx[3 * rows + n] = n;
    }
    const pool = (data: Uint16Array): View => ({
      storage: new CpuStorage(dtype, data),
      shape: [rows, bs, 1, D],
      strides: [bs * D, D, D, 1],
      offset: 0,
    });
    const q = view(new Float32Array(rows * D).fill(1), [rows, 1, D]);
    const layout = { rows, seqs: rows, maxBlocks: 1, blockSize: bs };
    const keysPool = pool(keyBits);
    const got = cpuData(pagedAttention(q, keysPool, pool(bits), view(idx, [idx.length]), layout, 1));
    expect(heapBlock(keysPool.storage as CpuStorage)).toBeDefined(); // the SIMD kernel ran, not the JS loops
    const table = halfValueTable(dtype);
    for (let i = 0; i < rows * D; i++) {
      // (−0 comes out +0: the output sums start from +0.)
      if (got[i] !== table[i] && !(Number.isNaN(got[i]!) && Number.isNaN(table[i]!))) {
        expect.fail(`${dtype} bits 0x${i.toString(16)}: got ${got[i]}, want ${table[i]}`);
      }
    }
  });

  it.each(['float16', 'bfloat16'] as const)(
    'matches float64 over the %s values, GQA heads, prefill and decode rows',
    (dtype) => {
      const keys = [41, 42, 43, 9, 64, 1, 0, 17];
      const shape = { Hq: 6, Hkv: 2, D: 20, bs: 5, rowSeq: [0, 0, 0, 1, 2, 3, 4, 5], keys };
      const p = problem(rng, shape);
      const k = halfPool(p.k, dtype);
      const v = halfPool(p.v, dtype);
      const got = cpuData(pagedAttention(p.q, k.half, v.half, p.index, p.layout, 0.3));
      expect(heapBlock(k.half.storage as CpuStorage)).toBeDefined();
      expect(worst(got, reference({ ...p, k: k.values, v: v.values }, 0.3))).toBeLessThanOrEqual(1);
    },
  );

  // Widening is exact and the sums run in the same order whether a query head reads its kv head's halves itself
  // (one query head per kv head) or from the copy widened once for its group (several): either way a half pool must
  // give the floats of a float32 pool holding its values, bit for bit.
  it.each([
    ['float16', 1],
    ['float16', 8],
    ['bfloat16', 4],
  ] as const)(
    'gives a float32 pool of the same values bit for bit on %s pools, %i query heads per kv head',
    (dtype, group) => {
      const keys = [37, 1, 16, 64, 0, 200, 9, 23];
      const shape = { Hq: 2 * group, Hkv: 2, D: 64, bs: 16, rowSeq: [0, 0, 1, 2, 3, 4, 5, 6], keys };
      const p = problem(rng, shape);
      const k = halfPool(p.k, dtype);
      const v = halfPool(p.v, dtype);
      const got = cpuData(pagedAttention(p.q, k.half, v.half, p.index, p.layout, 0.125)).slice();
      expect(heapBlock(k.half.storage as CpuStorage)).toBeDefined();
      const want = cpuData(pagedAttention(p.q, k.values, v.values, p.index, p.layout, 0.125));
      expect(heapBlock(k.values.storage as CpuStorage)).toBeDefined();
      expect(Array.from(got)).toEqual(Array.from(want));
    },
  );
});

// Rows are split across threads whole, and a row's output depends only on its inputs: two threads must give the one
// thread's floats bit for bit.
describe.skipIf(!wasmAttention() || !wasmTile()?.shared)('cpu paged attention on two threads', () => {
  const rng = makeRng(57);
  afterAll(() => setCpuThreads(undefined));

  /** 21 rows of 6 sequences (a prefill chunk among them) at 1–300 keys, 8 query heads over 4 of 36: ~2 M multiply-adds. */
  const big = (): Shape => {
    const keys = [300, 1, 7, 129, 64, 250, 33, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 0, 211, 17];
    const rowSeq = [0, 1, 2, 3, 4, 5, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 2, 4];
    return { Hq: 8, Hkv: 4, D: 36, bs: 16, rowSeq, keys };
  };

  // Float32 pools, and half pools (the helpers run attendRowsF16 / attendRowsBf16), the reference over their values.
  it.each(['float32', 'float16', 'bfloat16'] as const)(
    'gives the one-thread floats bit for bit on %s pools, and float64 within rounding',
    async (dtype) => {
      const p = problem(rng, big());
      const [k, v] =
        dtype === 'float32'
          ? [p.k, p.v].map((x) => ({ half: x, values: x }))
          : [p.k, p.v].map((x) => halfPool(x, dtype));
      setCpuThreads(1);
      const one = cpuData(pagedAttention(p.q, k!.half, v!.half, p.index, p.layout, 0.17)).slice();
      setCpuThreads(2);
      expect(await startCpuHelpers()).toBe(1);
      const before = splitProducts();
      const two = cpuData(pagedAttention(p.q, k!.half, v!.half, p.index, p.layout, 0.17));
      expect(splitProducts() - before).toBe(1);
      expect(Array.from(two)).toEqual(Array.from(one));
      expect(worst(two, reference({ ...p, k: k!.values, v: v!.values }, 0.17))).toBeLessThanOrEqual(1);
    },
  );

  it('raises a trap in any row in the calling thread, and keeps working afterwards', async () => {
    const p = problem(rng, big());
    setCpuThreads(2);
    expect(await startCpuHelpers()).toBe(1);
    const idx = cpuData(p.index.storage);
    const good = idx[3 * p.dims.N + 5 * p.dims.maxBlocks]!;
    // Sequence 5's first block ~2.4 GB into wasm memory, past its end: row 5 traps, whichever thread takes it.
    idx[3 * p.dims.N + 5 * p.dims.maxBlocks] = 4e6;
    expect(() => pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.17)).toThrow(/attendRows kernel failed in a chunk/);
    idx[3 * p.dims.N + 5 * p.dims.maxBlocks] = good;
    const got = cpuData(pagedAttention(p.q, p.k, p.v, p.index, p.layout, 0.17));
    expect(worst(got, reference(p, 0.17))).toBeLessThanOrEqual(1);
  });
});
