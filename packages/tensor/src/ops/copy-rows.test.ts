import { expect, it } from 'vitest';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { makeRng, randomRef } from '../testing/reference.js';
import { WebGpuBackend } from '../webgpu/backend.js';

/** The plain reference: a copy of `data` (rows of `width`) where row to[i] = row from[i] of the original. */
function reference(data: Float32Array, width: number, from: readonly number[], to: readonly number[]): Float32Array {
  const out = Float32Array.from(data);
  to.forEach((t, i) => {
    out.set(data.subarray(from[i]! * width, (from[i]! + 1) * width), t * width);
  });
  return out;
}

/** Random float32 rows, never zero. */
function randomRows(seed: number, rows: number, width: number): Float32Array {
  return Float32Array.from(randomRef(makeRng(seed), [rows, width]).data, (x) => x + Math.sign(x) * 0.25);
}

/** Shuffles in place with a seeded generator. */
function shuffle<V>(rng: () => number, xs: V[]): V[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

describeBackends('copyRows', () => {
  it('copies runs and scattered rows, each source read before any write (width 13, pairs out of order)', async () => {
    const [rows, width] = [29, 13];
    const data = randomRows(1, rows, width);
    // A run of five (3…7 → 20…24), scattered rows, one source feeding two destinations (11), and rows both read and
    // written: 3 and 4 feed the run and are overwritten from 25 and 20; 20 is overwritten from 3 and feeds 4.
    const pairs: [number, number][] = [
      [3, 20],
      [4, 21],
      [5, 22],
      [6, 23],
      [7, 24],
      [0, 9],
      [11, 2],
      [27, 16],
      [11, 28],
      [25, 3],
      [20, 4],
    ];
    shuffle(makeRng(2), pairs);
    const from = pairs.map((p) => p[0]);
    const to = pairs.map((p) => p[1]);
    const pool = T.keep(T.tensor(data, [rows, width]));
    const tensors = T.memory().tensors;
    const backend = T.getBackend();
    const dispatches = backend instanceof WebGpuBackend ? backend.rt.dispatchCount : 0;
    T.copyRows(pool, from, to);
    expect(T.memory().tensors).toBe(tensors);
    // Range copies only on WebGPU: no pipeline, no dispatch.
    expect(backend instanceof WebGpuBackend ? backend.rt.dispatchCount : 0).toBe(dispatches);
    expect(Array.from(await pool.data())).toEqual(Array.from(reference(data, width, from, to)));
    pool.dispose();
  });

  it.each(['float16', 'bfloat16'] as const)('copies the bits of a %s pool (a half KV cache)', async (dtype) => {
    const [rows, width] = [21, 14];
    const data = randomRows(3, rows, width);
    const pairs: [number, number][] = [
      [2, 10],
      [3, 11],
      [4, 12],
      [12, 4],
      [0, 20],
      [20, 1],
    ];
    const from = pairs.map((p) => p[0]);
    const to = pairs.map((p) => p[1]);
    const pool = T.keep(T.tensor(data, [rows, width], { dtype }));
    const held = (await pool.data()) as Float32Array; // the halves' values, as float32
    T.copyRows(pool, from, to);
    expect(pool.dtype).toBe(dtype);
    expect(Array.from(await pool.data())).toEqual(Array.from(reference(held, width, from, to)));
    pool.dispose();
  });

  it('copies positions of a paged pool through a reshape view (odd head dim 7), in queue order with dispatches', async () => {
    const [blocks, bs, heads, D] = [5, 3, 2, 7];
    const width = heads * D;
    const data = randomRows(3, blocks * bs, width);
    // The pool is a dispatch's output (unsubmitted on WebGPU), and a dispatch reads it after the copy.
    const [pool, after] = T.noGrad(() =>
      T.tidy(() => {
        const p = T.tensor(data, [blocks, bs, heads, D]).mul(2);
        // First two positions of block 4 into block 1, and position 2 of block 0 into position 2 of block 3.
        T.copyRows(p.reshape([blocks * bs, width]), [12, 13, 2], [3, 4, 11]);
        return [p, p.add(1)];
      }),
    ) as [T.Tensor, T.Tensor];
    const doubled = data.map((x) => 2 * x);
    const want = reference(doubled, width, [12, 13, 2], [3, 4, 11]);
    expect(Array.from(await pool.data())).toEqual(Array.from(want));
    expect(Array.from(await after.data())).toEqual(Array.from(want, (x) => Math.fround(x + 1)));
    pool.dispose();
    after.dispose();
  });

  it.each([
    [64, 33, 20],
    [40, 1, 40],
  ])('matches the reference on random pairs (%i rows of %i, %i destinations)', async (rows, width, count) => {
    const rng = makeRng(rows + width);
    const data = randomRows(rows * width, rows, width);
    const to = shuffle(
      rng,
      Array.from({ length: rows }, (_, i) => i),
    ).slice(0, count);
    const from = to.map(() => Math.floor(rng() * rows));
    const pool = T.keep(T.tensor(data, [rows, width]));
    T.copyRows(pool, from, to);
    expect(Array.from(await pool.data())).toEqual(Array.from(reference(data, width, from, to)));
    pool.dispose();
  });

  it('names the op, the shapes and the bad pair', () => {
    T.tidy(() => {
      const pool = T.zeros([6, 5]);
      expect(() => T.copyRows(pool, [0, 1], [2])).toThrow(
        /copyRows: 2 source rows but 1 destination rows \(pool \[6, 5\]\)/,
      );
      expect(() => T.copyRows(pool, [0, 6], [2, 3])).toThrow(/pair 1 copies row 6 to row 3, outside the 6 rows/);
      expect(() => T.copyRows(pool, [0], [-1])).toThrow(/pair 0 copies row 0 to row -1/);
      expect(() => T.copyRows(pool, [0.5], [1])).toThrow(/pair 0 copies row 0.5 to row 1/);
      expect(() => T.copyRows(pool, [0, 1, 2], [4, 3, 4])).toThrow(/pairs 0 and 2 both write row 4/);
      expect(() => T.copyRows(T.zeros([2, 3, 5]), [0], [1])).toThrow(/contiguous \[rows, width\].*got \[2, 3, 5\]/);
      expect(() => T.copyRows(pool.transpose(0, 1), [0], [1])).toThrow(/contiguous \[rows, width\].*got \[5, 6\]/);
      expect(() => T.copyRows(pool.slice(0, 0, 3), [0], [1])).toThrow(/over its whole storage, got \[3, 5\]/);
      expect(() => T.copyRows(T.zeros([6, 5], { dtype: 'int32' }), [0], [1])).toThrow(
        /pool must be float32, float16 or bfloat16, got int32/,
      );
    });
  });
});
