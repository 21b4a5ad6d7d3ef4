import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { broadcastAt, type Ref, ravel, refSize, unravel } from '../testing/reference.js';

/** Reference: out[idx] = x[map(idx)] for an output shape. */
function gatherRef(x: Ref, shape: number[], map: (idx: number[]) => number[]): Ref {
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = x.data[ravel(map(unravel(i, shape)), x.shape)]!;
  return { shape, data };
}

const checks: OpCheck[] = [
  {
    name: 'reshape with -1',
    inputs: [{ shape: [6, 7] }],
    run: (x) => x.reshape([3, -1, 7]),
    reference: (x) => ({ shape: [3, 2, 7], data: x.data }),
  },
  {
    name: 'permute',
    inputs: [{ shape: [2, 3, 5] }],
    run: (x) => x.permute([2, 0, 1]),
    reference: (x) => gatherRef(x, [5, 2, 3], ([k, i, j]) => [i!, j!, k!]),
  },
  {
    name: 'reshape of a transposed (non-contiguous) view copies',
    inputs: [{ shape: [4, 6] }],
    run: (x) => x.transpose(0, 1).reshape([24]),
    reference: (x) => gatherRef(x, [24], ([f]) => [f! % 4, Math.floor(f! / 4)]),
  },
  {
    name: 'slice with negative start',
    inputs: [{ shape: [5, 9] }],
    run: (x) => x.slice(1, -4, 8),
    reference: (x) => gatherRef(x, [5, 3], ([i, j]) => [i!, j! + 5]),
  },
  {
    name: 'narrow then transpose',
    inputs: [{ shape: [7, 4] }],
    run: (x) => x.narrow(0, 2, 3).transpose(0, 1),
    reference: (x) => gatherRef(x, [4, 3], ([j, i]) => [i! + 2, j!]),
  },
  {
    name: 'expand',
    inputs: [{ shape: [3, 1] }],
    run: (x) => x.expand([2, 3, 5]),
    reference: (x) => gatherRef(x, [2, 3, 5], ([, i]) => [i!, 0]),
  },
  {
    name: 'unsqueeze + squeeze + flatten',
    inputs: [{ shape: [2, 1, 3, 4] }],
    run: (x) => x.squeeze(1).unsqueeze(-1).flatten(1),
    reference: (x) => ({ shape: [2, 12], data: x.data }),
  },
  {
    name: 'contiguous of an expanded view',
    inputs: [{ shape: [4] }],
    run: (x) => x.expand([3, 4]).contiguous(),
    reference: (x) => gatherRef(x, [3, 4], ([, j]) => [j!]),
  },
  {
    name: 'concat along axis 1',
    inputs: [{ shape: [3, 2] }, { shape: [3, 5] }, { shape: [3, 0] }],
    run: (a, b, c) => T.concat([a, b, c], 1),
    reference: (a, b) => {
      const data = new Float64Array(21);
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 7; j++) data[i * 7 + j] = j < 2 ? a.data[i * 2 + j]! : b.data[i * 5 + j - 2]!;
      return { shape: [3, 7], data };
    },
  },
  {
    name: 'stack along a new last axis',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }],
    run: (a, b) => T.stack([a, b], -1),
    reference: (a, b) => {
      const data = new Float64Array(12);
      for (let i = 0; i < 6; i++) {
        data[2 * i] = a.data[i]!;
        data[2 * i + 1] = b.data[i]!;
      }
      return { shape: [2, 3, 2], data };
    },
  },
  {
    name: 'clone of a slice, then toType round trip',
    inputs: [{ shape: [4, 4] }],
    run: (x) => x.slice(0, 1, 3).clone().float(),
    reference: (x) => gatherRef(x, [2, 4], ([i, j]) => [i! + 1, j!]),
  },
];

describeBackends('views, concat and stack', () => {
  for (const check of checks) {
    it(`${check.name}: forward and backward`, async () => {
      await expectForward(check);
      await expectBackward(check);
    });
  }

  it('views share storage and cost no bytes', () => {
    const x = T.zeros([64, 64]);
    const before = T.memory();
    const v = T.tidy(() => x.transpose(0, 1).slice(0, 3, 9).expand([2, 6, 64]));
    expect(T.memory().bytes).toBe(before.bytes);
    expect(T.memory().tensors).toBe(before.tensors + 1);
    x.dispose();
    // The storage lives on while a view is alive, and goes with the last one.
    expect(T.memory().bytes).toBe(before.bytes);
    v.dispose();
    expect(T.memory().bytes).toBe(before.bytes - 64 * 64 * 4);
  });

  it('assign writes through views in place and broadcasts', async () => {
    const x = T.zeros([2, 3]);
    const row = x.slice(0, 1, 2);
    const src = T.tensor([1, 2, 3]);
    row.assign(src);
    expect(Array.from(await x.data())).toEqual([0, 0, 0, 1, 2, 3]);
    for (const t of [x, row, src]) t.dispose();
  });

  it('toType truncates toward zero', async () => {
    const x = T.tensor([1.7, -1.7, 2.5, -0.2]);
    const i = x.int();
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data())).toEqual([1, -1, 2, 0]);
    x.dispose();
    i.dispose();
  });

  it('reshape errors name the shapes', () => {
    const x = T.zeros([2, 3]);
    expect(() => x.reshape([4, -1])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, -1\]/);
    expect(() => x.expand([4, 3])).toThrow(/expand: cannot expand \[2, 3\] to \[4, 3\]/);
    expect(() => T.concat([x, T.zeros([3, 3])], 1)).toThrow(/concat: shapes \[2, 3\], \[3, 3\] differ off axis 1/);
    x.dispose();
  });

  it('broadcastAt helper agrees with expand (sanity of the reference)', () => {
    const r: Ref = { shape: [3, 1], data: Float64Array.from([1, 2, 3]) };
    expect(broadcastAt(r, [1, 2, 0])).toBe(3);
  });
});
