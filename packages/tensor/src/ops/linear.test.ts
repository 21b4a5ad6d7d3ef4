import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import type { Ref } from '../testing/reference.js';

/** float64 reference of x [..., in] · wᵀ (+ b) with w [out, in]. */
function refLinear(x: Ref, w: Ref, b?: Ref): Ref {
  const [out, inF] = w.shape as [number, number];
  const rows = x.data.length / inF;
  const data = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o]! : 0;
      for (let k = 0; k < inF; k++) s += x.data[r * inF + k]! * w.data[o * inF + k]!;
      data[r * out + o] = s;
    }
  }
  return { shape: [...x.shape.slice(0, -1), out], data };
}

const shapes: number[][] = [[5], [3, 5], [2, 3, 5], [2, 1, 3, 5]];

describeBackends('linear', () => {
  for (const xShape of shapes) {
    const checks: OpCheck[] = [
      {
        name: `linear ${JSON.stringify(xShape)} · [4, 5]ᵀ`,
        inputs: [{ shape: xShape }, { shape: [4, 5] }],
        run: (x, w) => T.linear(x!, w!),
        reference: (x, w) => refLinear(x!, w!),
      },
      {
        name: `linear ${JSON.stringify(xShape)} · [4, 5]ᵀ + bias`,
        inputs: [{ shape: xShape }, { shape: [4, 5] }, { shape: [4] }],
        run: (x, w, b) => T.linear(x!, w!, b!),
        reference: (x, w, b) => refLinear(x!, w!, b!),
      },
    ];
    for (const check of checks) {
      it(`${check.name}: forward and backward`, async () => {
        await expectForward(check);
        await expectBackward(check);
      });
    }
  }

  it('gives the same values as matmul against the transposed weight (one fold, one product)', async () => {
    const x = T.randn([2, 3, 6], { seed: 11 });
    const w = T.randn([7, 6], { seed: 12 });
    const a = T.linear(x, w);
    const b = T.matmul(x, w.transpose(0, 1));
    expect(a.shape).toEqual([2, 3, 7]);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    for (const t of [x, w, a, b]) t.dispose();
  });

  it('frees its intermediates: only the result is left', () => {
    const x = T.randn([2, 3, 6], { seed: 13 });
    const w = T.randn([7, 6], { seed: 14 });
    const before = T.memory();
    const y = T.linear(x, w);
    expect(T.memory().tensors).toBe(before.tensors + 1);
    for (const t of [x, w, y]) t.dispose();
  });

  it('names the problem and the shapes on bad input', () => {
    const x = T.zeros([2, 3]);
    const w = T.zeros([4, 5]);
    const w3 = T.zeros([4, 3]);
    const ids = T.zeros([2, 3], { dtype: 'int32' });
    expect(() => T.linear(x, w)).toThrow(/linear: input \[2, 3\] does not end in the in-features of weight \[4, 5\]/);
    expect(() => T.linear(x, w3, T.zeros([5]))).toThrow(
      /linear: bias \[5\] does not match the out-features of weight \[4, 3\]/,
    );
    expect(() => T.linear(ids, w3)).toThrow(/linear: x must be float32, float16 or bfloat16, got int32 \[2, 3\]/);
    expect(() => T.linear(T.zeros([]), w3)).toThrow(/linear: input \[\] does not end/);
    for (const t of [x, w, w3, ids]) t.dispose();
  });
});
