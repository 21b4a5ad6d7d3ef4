import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type Ref, refMatmul } from '../testing/reference.js';

/** torch.matmul semantics for the reference: 1-D operands become row/column vectors, then squeezed. */
function refMatmulAny(a: Ref, b: Ref): Ref {
  const a2 = a.shape.length === 1 ? { shape: [1, a.shape[0]!], data: a.data } : a;
  const b2 = b.shape.length === 1 ? { shape: [b.shape[0]!, 1], data: b.data } : b;
  const out = refMatmul(a2, b2);
  const shape = [...out.shape];
  if (b.shape.length === 1) shape.splice(-1, 1);
  if (a.shape.length === 1) shape.splice(shape.length - (b.shape.length === 1 ? 1 : 2), 1);
  return { shape, data: out.data };
}

const check = (a: number[], b: number[], run = T.matmul): OpCheck => ({
  name: `matmul [${a}] @ [${b}]`,
  inputs: [{ shape: a }, { shape: b }],
  run,
  reference: refMatmulAny,
  atol: 1e-4,
  rtol: 1e-4,
});

describeBackends('matmul', () => {
  it('matches float64 for awkward and batched shapes', async () => {
    const pairs: [number[], number[]][] = [
      [
        [1, 1],
        [1, 1],
      ],
      [
        [7, 13],
        [13, 33],
      ],
      [
        [17, 1],
        [1, 19],
      ],
      [
        [33, 65],
        [65, 31],
      ],
      [
        [2, 3, 5, 7],
        [7, 4],
      ],
      [
        [3, 1, 4, 6],
        [5, 6, 2],
      ],
      [[13], [13, 7]],
      [[7, 13], [13]],
      [[13], [13]],
      [
        [4, 0],
        [0, 3],
      ],
      [
        [0, 5],
        [5, 3],
      ],
    ];
    for (const [a, b] of pairs) await expectForward(check(a, b));
  });

  it('reads transposed views without changing results; their gradients keep the stored layout', async () => {
    const transposed: OpCheck = {
      ...check([9, 5], [5, 11]),
      inputs: [{ shape: [5, 9] }, { shape: [11, 5] }],
      run: (a, b) => T.matmul(a.transpose(0, 1), b.transpose(0, 1)),
      reference: (a, b) => refMatmul(transposeRef(a), transposeRef(b)),
    };
    await expectForward(transposed);
    await expectBackward(transposed);
    // A Linear layer: x [B, T, K] @ wᵀ with w [N, K]; w's gradient must come back as its own contiguous storage.
    const x = T.randn([2, 3, 5], { seed: 1 });
    const w = T.randn([4, 5], { seed: 2, requiresGrad: true });
    const y = T.matmul(x, w.transpose(0, 1));
    y.sum().backward();
    expect(w.grad!.isContiguous()).toBe(true);
    const expected = await T.noGrad(() =>
      T.ones([2, 3, 4])
        .reshape([6, 4])
        .transpose(0, 1)
        .matmul(x.reshape([6, 5])),
    ).data();
    const got = await w.grad!.data();
    expected.forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v, 4);
    });
    for (const t of [x, w, y]) t.dispose();
  });

  it('backward matches finite differences, including broadcast batch dims and vectors', async () => {
    await expectBackward(check([5, 7], [7, 3]));
    await expectBackward(check([2, 3, 4], [4, 5]));
    await expectBackward(check([3, 1, 2, 4], [2, 4, 3]));
    await expectBackward(check([6], [6, 2]));
    await expectBackward(check([3, 6], [6]));
  });

  it('names shapes in dimension errors', () => {
    const a = T.zeros([2, 3]);
    const b = T.zeros([4, 5]);
    expect(() => T.matmul(a, b)).toThrow(/matmul: inner dimensions differ, \[2, 3\] @ \[4, 5\]/);
    a.dispose();
    b.dispose();
  });
});

function transposeRef(a: Ref): Ref {
  const [r, c] = a.shape as [number, number];
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = a.data[i * c + j]!;
  return { shape: [c, r], data };
}
