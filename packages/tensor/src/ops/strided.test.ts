import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type Ref, ravel, refMap, refMatmul, refReduce, refSize, unravel } from '../testing/reference.js';

/** Reference transpose of the last two axes. */
function refT(x: Ref): Ref {
  const r = x.shape.length;
  const shape = [...x.shape];
  [shape[r - 2], shape[r - 1]] = [shape[r - 1]!, shape[r - 2]!];
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    [idx[r - 2], idx[r - 1]] = [idx[r - 1]!, idx[r - 2]!];
    data[i] = x.data[ravel(idx, x.shape)]!;
  }
  return { shape, data };
}

/** Reference slice [start, end) of axis 0. */
function refSlice0(x: Ref, start: number, end: number): Ref {
  const inner = refSize(x.shape.slice(1));
  return { shape: [end - start, ...x.shape.slice(1)], data: x.data.slice(start * inner, end * inner) };
}

// Every kernel must read through strides and offsets: feed transposed, sliced (offset) and expanded views.
const checks: OpCheck[] = [
  {
    name: 'unary on a transposed view',
    inputs: [{ shape: [5, 7] }],
    run: (x) => x.transpose(0, 1).exp(),
    reference: (x) => refMap(Math.exp, refT(x)),
  },
  {
    name: 'binary on an offset slice and a transposed view',
    inputs: [{ shape: [9, 4] }, { shape: [4, 3] }],
    run: (a, b) => a.slice(0, 2, 5).mul(b.transpose(0, 1)),
    reference: (a, b) => refMap((x, y) => x * y, refSlice0(a, 2, 5), refT(b)),
  },
  {
    name: 'reduce over a transposed view',
    inputs: [{ shape: [6, 11] }],
    run: (x) => x.transpose(0, 1).sum(1),
    reference: (x) => refReduce(refT(x), [1], (v) => v.reduce((a, b) => a + b, 0)),
  },
  {
    name: 'max over an offset slice',
    inputs: [{ shape: [8, 5] }],
    run: (x) => x.slice(0, 3, 7).max(0),
    reference: (x) => refReduce(refSlice0(x, 3, 7), [0], (v) => Math.max(...v)),
  },
  {
    name: 'matmul of offset slices and a transposed batch',
    inputs: [{ shape: [10, 6] }, { shape: [2, 4, 6] }],
    run: (a, b) => a.slice(0, 3, 8).matmul(b.transpose(1, 2)),
    reference: (a, b) => refMatmul(refSlice0(a, 3, 8), refT(b)),
    atol: 1e-4,
  },
  {
    name: 'softmax of a transposed view',
    inputs: [{ shape: [7, 3] }],
    run: (x) => x.transpose(0, 1).softmax(-1),
    reference: (x) => {
      const t = refT(x);
      const data = new Float64Array(t.data.length);
      for (let r = 0; r < 3; r++) {
        const row = Array.from(t.data.subarray(r * 7, r * 7 + 7));
        const m = Math.max(...row);
        const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
        row.forEach((v, j) => {
          data[r * 7 + j] = Math.exp(v - m) / z;
        });
      }
      return { shape: t.shape, data };
    },
  },
  {
    name: 'embedding from a transposed table',
    inputs: [{ shape: [4, 9] }, { shape: [5], kind: { low: 0, high: 9 } }],
    run: (table, ids) => T.embedding(table.transpose(0, 1), ids),
    reference: (table, ids) => {
      const t = refT(table);
      const data = new Float64Array(5 * 4);
      ids.data.forEach((id, n) => {
        data.set(t.data.subarray(id * 4, id * 4 + 4), n * 4);
      });
      return { shape: [5, 4], data };
    },
  },
  {
    name: 'where with an expanded condition',
    inputs: [{ shape: [1, 6], kind: { low: 0, high: 2 }, dtype: 'float32', grad: false }, { shape: [6, 4] }],
    run: (c, a) => T.where(c.expand([4, 6]), a.transpose(0, 1), 0),
    reference: (c, a) => refMap((cv, av) => (cv !== 0 ? av : 0), c, refT(a)),
  },
];

describeBackends('strided views into kernels', () => {
  for (const check of checks) {
    it(`${check.name}: forward and backward`, async () => {
      await expectForward(check);
      await expectBackward(check);
    });
  }

  it('int32 reductions and comparisons stay int32', async () => {
    const x = T.tensor(Int32Array.from([3, -1, 4, 1, -5, 9]), [2, 3]);
    const s = x.sum(1);
    const m = x.max(0);
    const c = x.gt(0);
    expect([s.dtype, m.dtype, c.dtype]).toEqual(['int32', 'int32', 'int32']);
    expect(Array.from(await s.data())).toEqual([6, 5]);
    expect(Array.from(await m.data())).toEqual([3, -1, 9]);
    expect(Array.from(await c.data())).toEqual([1, 0, 1, 1, 0, 1]);
    for (const t of [x, s, m, c]) t.dispose();
  });
});
