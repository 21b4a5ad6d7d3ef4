import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type Ref, refReduce } from '../testing/reference.js';

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const reducers: [string, (x: T.Tensor, axes: number[], keep: boolean) => T.Tensor, (v: number[]) => number][] = [
  ['sum', (x, a, k) => T.sum(x, a, k), sum],
  ['mean', (x, a, k) => T.mean(x, a, k), (v) => sum(v) / v.length],
  ['max', (x, a, k) => T.max(x, a, k), (v) => Math.max(...v)],
  ['min', (x, a, k) => T.min(x, a, k), (v) => Math.min(...v)],
  [
    'logsumexp',
    (x, a, k) => T.logsumexp(x, a, k),
    (v) => {
      const m = Math.max(...v);
      return m + Math.log(sum(v.map((x) => Math.exp(x - m))));
    },
  ],
];

const cases: [number[], number[]][] = [
  [[7], [0]],
  [[13, 33], [1]],
  [[13, 33], [0]],
  [
    [3, 5, 17],
    [0, 2],
  ],
  [[3, 5, 17], [-1]],
  [
    [2, 3, 4, 5],
    [1, 3],
  ],
  [
    [1, 9, 1],
    [0, 1, 2],
  ],
];

describeBackends('reductions', () => {
  for (const [name, fn, f] of reducers) {
    for (const keep of [false, true]) {
      const check = (shape: number[], axes: number[]): OpCheck => ({
        name: `${name}(${axes}, keepdim=${keep}) of [${shape}]`,
        inputs: [{ shape }],
        run: (x) => fn(x, axes, keep),
        reference: (x: Ref) => refReduce(x, axes, f, keep),
        atol: 1e-5,
        rtol: 1e-4,
      });
      it(`${name} keepdim=${keep} forward over awkward shapes`, async () => {
        for (const [shape, axes] of cases) await expectForward(check(shape, axes));
      });
      it(`${name} keepdim=${keep} backward`, async () => {
        await expectBackward(check([3, 5, 7], [0, 2]));
        await expectBackward(check([6, 11], [1]));
      });
    }
  }

  it('sum and mean of everything, and sum over an empty axis', async () => {
    const x = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await x.sum().item()).toBe(21);
    expect(await x.mean().item()).toBe(3.5);
    const ints = T.tensor(Int32Array.from([1, 2, 4, 4]), [2, 2]);
    const intMean = ints.mean(0);
    expect(intMean.dtype).toBe('float32');
    expect(Array.from(await intMean.data())).toEqual([2.5, 3]);
    expect(() => ints.mul(0.5)).toThrow(/mul: number 0.5 is not an integer but the tensor \[2, 2\] is int32/);
    ints.dispose();
    intMean.dispose();
    const empty = T.zeros([0, 4]);
    expect(Array.from(await empty.sum(0).data())).toEqual([0, 0, 0, 0]);
    for (const t of [x, empty]) t.dispose();
  });

  it('argmax returns the first maximum as int32', async () => {
    const x = T.tensor([
      [1, 5, 5, 2],
      [9, 0, 9, -1],
      [-3, -2, -8, -2],
    ]);
    const a = x.argmax(1);
    expect(a.dtype).toBe('int32');
    expect(Array.from(await a.data())).toEqual([1, 0, 1]);
    const b = x.argmax(0, true);
    expect(b.shape).toEqual([1, 4]);
    expect(Array.from(await b.data())).toEqual([1, 0, 1, 0]);
    for (const t of [x, a, b]) t.dispose();
  });

  it('rejects bad axes with the op and shape in the message', () => {
    const x = T.zeros([2, 3]);
    expect(() => x.sum(2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2 \[2, 3\]/);
    expect(() => x.max([0, -2])).toThrow(/max: repeated axis/);
    x.dispose();
  });
});
