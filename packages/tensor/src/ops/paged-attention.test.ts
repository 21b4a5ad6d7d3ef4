import { expect, it } from 'vitest';
import { decodeHalf, encodeHalf } from '../formats/half-precision.js';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { makeRng, randomRef, worstMismatch } from '../testing/reference.js';
import { WebGpuBackend } from '../webgpu/backend.js';

/**
 * A random paged layout: `lengths[s]` positions per sequence in blocks of `blockSize`, block ids drawn from a shuffled
 * pool with spare blocks, so a sequence's blocks are neither adjacent nor in order.
 */
function layout(rng: () => number, lengths: number[], blockSize: number, spare: number) {
  const need = lengths.map((n) => Math.ceil(n / blockSize));
  const numBlocks = need.reduce((a, b) => a + b, 0) + spare;
  const ids = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  let next = 0;
  const tables = need.map((n) => ids.slice(next, (next += n)));
  return { numBlocks, tables };
}

/** Float64 causal attention of one query row over keys/values `[S, Hkv, D]` (row-major), GQA heads. */
function refRow(q: Float64Array, qBase: number, K: number[][], V: number[][], Hq: number, Hkv: number, D: number) {
  const out = new Float64Array(Hq * D);
  for (let h = 0; h < Hq; h++) {
    const kvh = Math.floor(h / (Hq / Hkv));
    const scores = K.map((k) => {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qBase + h * D + d]! * k[kvh * D + d]!;
      return dot / Math.sqrt(D);
    });
    const m = Math.max(...scores);
    const p = scores.map((s) => Math.exp(s - m));
    const z = p.reduce((a, b) => a + b, 0);
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let s = 0; s < K.length; s++) acc += p[s]! * V[s]![kvh * D + d]!;
      out[h * D + d] = acc / z;
    }
  }
  return out;
}

describeBackends('pagedAttention', () => {
  // Awkward on purpose: blocks of 5, head dim 7 (the JS loops) or 20 (a multiple of 4: the SIMD kernels, with one
  // 4-vector pass and one 1-vector pass over d), 6 query heads over 2 kv heads, ragged lengths that straddle blocks
  // (odd and even key counts), one sequence with a 4-row prefill chunk (causal within the chunk) and others decoding
  // one row each.
  // Half pools (a float16 / bfloat16 KV cache): the reference attends the values the pool holds, every key and value
  // rounded to the dtype as the host codec rounds, and the written rows must hold exactly those bits.
  it.each([
    [7, 'float32'],
    [20, 'float32'],
    [7, 'float16'],
    [20, 'float16'],
    [7, 'bfloat16'],
    [20, 'bfloat16'],
    [12, 'bfloat16'],
  ] as const)(
    'writes new keys/values into their blocks and matches float64 (head dim %i, %s pools)',
    async (D, dtype) => {
      const rng = makeRng(15);
      const [Hq, Hkv, bs] = [6, 2, 5];
      const lengths = [1, 13, 5, 9, 22];
      const { numBlocks, tables } = layout(rng, lengths, bs, 3);
      // Rows: the last position of sequences 0, 1, 2, 4 and the last four positions of sequence 3 (a chunk).
      const rowSeq = [0, 1, 2, 3, 3, 3, 3, 4];
      const rowPos = [0, 12, 4, 5, 6, 7, 8, 21];
      const N = rowSeq.length;
      const poolShape = [numBlocks, bs, Hkv, D];
      // What the pool holds of float64 values: float32, or the dtype's rounding of them.
      const held = (r: { data: Float64Array }) => ({
        data: Float64Array.from(
          dtype === 'float32' ? Float32Array.from(r.data) : decodeHalf(dtype, encodeHalf(dtype, r.data)),
        ),
      });
      const kPoolRef = held(randomRef(rng, poolShape));
      const vPoolRef = held(randomRef(rng, poolShape));
      const qRef = randomRef(rng, [N, Hq, D]);
      const kNewRaw = randomRef(rng, [N, Hkv, D]);
      const vNewRaw = randomRef(rng, [N, Hkv, D]);
      const kNew = held(kNewRaw);
      const vNew = held(vNewRaw);
      // The reference: each sequence's contiguous keys/values, with the new rows written at their positions.
      const W = Hkv * D;
      const rowOf = (pool: Float64Array, s: number, p: number) => {
        const slot = tables[s]![Math.floor(p / bs)]! * bs + (p % bs);
        return Array.from(pool.subarray(slot * W, (slot + 1) * W));
      };
      const seqKv = (pool: Float64Array, fresh: Float64Array, s: number) =>
        Array.from({ length: lengths[s]! }, (_, p) => {
          const n = rowSeq.findIndex((rs, i) => rs === s && rowPos[i] === p);
          return n >= 0 ? Array.from(fresh.subarray(n * W, (n + 1) * W)) : rowOf(pool, s, p);
        });
      const expected = new Float64Array(N * Hq * D);
      for (let n = 0; n < N; n++) {
        const s = rowSeq[n]!;
        const keys = rowPos[n]! + 1;
        const K = seqKv(kPoolRef.data, kNew.data, s).slice(0, keys);
        const V = seqKv(vPoolRef.data, vNew.data, s).slice(0, keys);
        expected.set(refRow(qRef.data, n * Hq * D, K, V, Hq, Hkv, D), n * Hq * D);
      }

      const f32 = (r: { data: Float64Array }) => Float32Array.from(r.data);
      const kPool = T.keep(T.tensor(f32(kPoolRef), poolShape, { dtype }));
      const vPool = T.keep(T.tensor(f32(vPoolRef), poolShape, { dtype }));
      const out = T.noGrad(() =>
        T.tidy(() => {
          const index = T.pagedKvIndex({ blockSize: bs, numBlocks, blockTables: tables, rowSeq, rowPositions: rowPos });
          // The new rows go in as float32 (unrounded): writePagedKv rounds them into a half pool.
          T.writePagedKv(kPool, T.tensor(f32(kNewRaw), [N, Hkv, D]), index);
          T.writePagedKv(vPool, T.tensor(f32(vNewRaw), [N, Hkv, D]), index);
          return T.pagedAttention(T.tensor(f32(qRef), [N, Hq, D]), kPool, vPool, index);
        }),
      );
      const got = await out.data();
      const w = worstMismatch(got, expected, 2e-5, 2e-5);
      if (w.index >= 0) expect.fail(`element ${w.index}: ${w.actual}, expected ${w.expected}`);
      // The writes landed in the pool rows and nowhere else, rounded as the host codec rounds.
      const kAfter = await kPool.data();
      const kExpected = Float64Array.from(kPoolRef.data);
      rowSeq.forEach((s, n) => {
        const slot = tables[s]![Math.floor(rowPos[n]! / bs)]! * bs + (rowPos[n]! % bs);
        kExpected.set(kNew.data.subarray(n * W, (n + 1) * W), slot * W);
      });
      expect(worstMismatch(kAfter, kExpected, 0, 0).index).toBe(-1);
      for (const t of [out, kPool, vPool]) t.dispose();
    },
  );

  // Adapters without `shader-f16` bind float16 pools as packed words (loads unpack a word, stores go through atomics);
  // lavapipe has the feature, so the packed path is run here by switching the runtime to it (the bytes are the same).
  it('float16 pools give the same floats bound as packed words as bound natively (WebGPU)', async () => {
    const backend = T.getBackend();
    if (!(backend instanceof WebGpuBackend) || !backend.rt.halfNative) return;
    const rng = makeRng(23);
    const [Hq, Hkv, D, bs, numBlocks] = [4, 2, 12, 4, 6];
    const tables = [
      [5, 1, 3],
      [0, 2],
    ];
    const rowSeq = [0, 0, 0, 1];
    const rowPositions = [8, 9, 10, 6];
    const poolShape = [numBlocks, bs, Hkv, D];
    const f32 = (shape: number[]) => Float32Array.from(randomRef(rng, shape).data);
    const [k0, v0, kNew, vNew, q] = [
      f32(poolShape),
      f32(poolShape),
      f32([4, Hkv, D]),
      f32([4, Hkv, D]),
      f32([4, Hq, D]),
    ];
    const run = async () => {
      const kPool = T.tensor(k0, poolShape, { dtype: 'float16' });
      const vPool = T.tensor(v0, poolShape, { dtype: 'float16' });
      const out = T.noGrad(() =>
        T.tidy(() => {
          const index = T.pagedKvIndex({ blockSize: bs, numBlocks, blockTables: tables, rowSeq, rowPositions });
          T.writePagedKv(kPool, T.tensor(kNew, [4, Hkv, D]), index);
          T.writePagedKv(vPool, T.tensor(vNew, [4, Hkv, D]), index);
          return T.pagedAttention(T.tensor(q, [4, Hq, D]), kPool, vPool, index);
        }),
      );
      const result = [await out.data(), await kPool.data()];
      for (const t of [out, kPool, vPool]) t.dispose();
      return result;
    };
    const native = await run();
    backend.rt.halfNative = false;
    try {
      const packed = await run();
      expect(Array.from(packed[0]!)).toEqual(Array.from(native[0]!));
      expect(Array.from(packed[1]!)).toEqual(Array.from(native[1]!));
    } finally {
      backend.rt.halfNative = true;
    }
  });

  // Rows of whole 4-byte words are written a word at a time on WebGPU's packed halves; an odd row width (here 7) goes
  // element by element through atomics (bfloat16 is always packed; float16 only on adapters without `shader-f16`, see
  // the packed test above). Both must land the host encoder's bits in the right rows.
  it.each([
    [7, 'bfloat16'],
    [8, 'bfloat16'],
    [7, 'float16'],
  ] as const)('writes rows of width %i into a %s pool, rounded as the host encoder rounds', async (D, dtype) => {
    const rng = makeRng(5);
    const [numBlocks, bs] = [3, 2];
    const rows = Float32Array.from(randomRef(rng, [3, 1, D]).data);
    const pool = T.keep(T.zeros([numBlocks, bs, 1, D], { dtype }));
    T.noGrad(() =>
      T.tidy(() => {
        const index = T.pagedKvIndex({
          blockSize: bs,
          numBlocks,
          blockTables: [[2, 0]],
          rowSeq: [0, 0, 0],
          rowPositions: [0, 1, 2],
        });
        T.writePagedKv(pool, T.tensor(rows, [3, 1, D]), index);
      }),
    );
    // Positions 0, 1 in block 2 (pool rows 4, 5), position 2 in block 0 (pool row 0); the rest stays zero.
    const want = new Float32Array(numBlocks * bs * D);
    const held = decodeHalf(dtype, encodeHalf(dtype, rows));
    want.set(held.subarray(0, 2 * D), 4 * D);
    want.set(held.subarray(2 * D, 3 * D), 0);
    expect(Array.from(await pool.data())).toEqual(Array.from(want));
    pool.dispose();
  });

  it('equals scaledDotProductAttention over the same keys gathered contiguously (prefill chunk and decode)', async () => {
    const rng = makeRng(7);
    const [Hq, Hkv, D, bs] = [4, 1, 16, 3];
    const S = 11; // 4 blocks of 3, the last partly used
    const { numBlocks, tables } = layout(rng, [S], bs, 2);
    const poolShape = [numBlocks, bs, Hkv, D];
    const k = randomRef(rng, [S, Hkv, D]);
    const v = randomRef(rng, [S, Hkv, D]);
    const q = randomRef(rng, [S, Hq, D]);
    const f32 = (r: { data: Float64Array }) => Float32Array.from(r.data);
    const [paged, dense] = T.noGrad(() =>
      T.tidy(() => {
        const kPool = T.zeros(poolShape);
        const vPool = T.zeros(poolShape);
        const rowPositions = Array.from({ length: S }, (_, i) => i);
        const index = T.pagedKvIndex({
          blockSize: bs,
          numBlocks,
          blockTables: tables,
          rowSeq: new Array(S).fill(0),
          rowPositions,
        });
        T.writePagedKv(kPool, T.tensor(f32(k), [S, Hkv, D]), index);
        T.writePagedKv(vPool, T.tensor(f32(v), [S, Hkv, D]), index);
        const p = T.pagedAttention(T.tensor(f32(q), [S, Hq, D]), kPool, vPool, index);
        const toHeads = (x: Float32Array, h: number) => T.tensor(x, [1, S, h, D]).permute([0, 2, 1, 3]);
        const o = T.scaledDotProductAttention(toHeads(f32(q), Hq), toHeads(f32(k), Hkv), toHeads(f32(v), Hkv));
        return [p, o.permute([0, 2, 1, 3]).contiguous().reshape([S, Hq, D])];
      }),
    ) as [T.Tensor, T.Tensor];
    const w = worstMismatch(await paged.data(), await dense.data(), 2e-5, 2e-5);
    if (w.index >= 0) expect.fail(`element ${w.index}: ${w.actual}, expected ${w.expected}`);
    paged.dispose();
    dense.dispose();
  });

  it('names the bad row or block', () => {
    const base = { blockSize: 4, numBlocks: 3, blockTables: [[2, 0]], rowSeq: [0], rowPositions: [3] };
    expect(() => T.pagedKvIndex({ ...base, rowPositions: [8] })).toThrow(/row 0 at position 8 is beyond sequence 0/);
    expect(() => T.pagedKvIndex({ ...base, blockTables: [[3]] })).toThrow(/block 0 is 3, outside the pool/);
    expect(() => T.pagedKvIndex({ ...base, rowSeq: [1] })).toThrow(/row 0 names sequence 1/);
    expect(() => T.pagedKvIndex({ ...base, blockTables: [[1], [1]], rowSeq: [0, 1], rowPositions: [2, 2] })).toThrow(
      /row 1 writes pool row 6/,
    );
    T.tidy(() => {
      const index = T.pagedKvIndex(base);
      expect(() => T.pagedAttention(T.zeros([1, 3, 8]), T.zeros([3, 4, 2, 8]), T.zeros([3, 4, 2, 8]), index)).toThrow(
        /Hq % Hkv = 0/,
      );
      expect(() => T.writePagedKv(T.zeros([3, 5, 2, 8]), T.zeros([1, 2, 8]), index)).toThrow(/blockSize=4/);
      // Pools of float32 or one half type; never int32, never two dtypes.
      const pool = (dtype: T.DType) => T.zeros([3, 4, 2, 8], { dtype });
      const q = T.zeros([1, 2, 8]);
      expect(() => T.pagedAttention(q, pool('float16'), pool('bfloat16'), index)).toThrow(
        /kPool and vPool must have one dtype, got float16 and bfloat16/,
      );
      expect(() => T.pagedAttention(q, pool('int32'), pool('int32'), index)).toThrow(
        /kPool must be float32, float16 or bfloat16, got int32/,
      );
      expect(() => T.writePagedKv(pool('int32'), T.zeros([1, 2, 8]), index)).toThrow(
        /pool must be float32, float16 or bfloat16, got int32/,
      );
      expect(() => T.writePagedKv(pool('float16'), T.zeros([1, 2, 8], { dtype: 'float16' }), index)).toThrow(
        /rows must be float32, got float16/,
      );
    });
  });
});
