import { it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import { type InputKind, refMap } from '../testing/reference.js';

const C = Math.sqrt(2 / Math.PI);
const unaries: [string, (x: T.Tensor) => T.Tensor, (v: number) => number, InputKind][] = [
  ['neg', T.neg, (v) => -v, 'normal'],
  ['exp', T.exp, Math.exp, 'normal'],
  ['log', T.log, Math.log, 'positive'],
  ['sqrt', T.sqrt, Math.sqrt, 'positive'],
  ['rsqrt', T.rsqrt, (v) => 1 / Math.sqrt(v), 'positive'],
  ['abs', T.abs, Math.abs, 'normal'],
  ['square', T.square, (v) => v * v, 'normal'],
  ['reciprocal', T.reciprocal, (v) => 1 / v, 'positive'],
  ['relu', T.relu, (v) => Math.max(v, 0), 'normal'],
  ['silu', T.silu, (v) => v / (1 + Math.exp(-v)), 'normal'],
  ['gelu', T.gelu, (v) => 0.5 * v * (1 + Math.tanh(C * (v + 0.044715 * v ** 3))), 'normal'],
  ['tanh', T.tanh, Math.tanh, 'normal'],
  ['sigmoid', T.sigmoid, (v) => 1 / (1 + Math.exp(-v)), 'normal'],
  ['sin', T.sin, Math.sin, 'normal'],
  ['cos', T.cos, Math.cos, 'normal'],
];

const binaries: [string, (a: T.Tensor, b: T.Tensor) => T.Tensor, (a: number, b: number) => number, InputKind][] = [
  ['add', T.add, (a, b) => a + b, 'normal'],
  ['sub', T.sub, (a, b) => a - b, 'normal'],
  ['mul', T.mul, (a, b) => a * b, 'normal'],
  ['div', T.div, (a, b) => a / b, 'positive'],
  ['pow', T.pow, (a, b) => a ** b, 'positive'],
  ['maximum', T.maximum, Math.max, 'normal'],
  ['minimum', T.minimum, Math.min, 'normal'],
];

// Awkward shapes: scalars, primes, non-multiples of 16, broadcasting both ways, an empty axis.
const shapePairs: [number[], number[]][] = [
  [[7], [7]],
  [[], [13]],
  [[3, 33], [33]],
  [
    [5, 1, 7],
    [1, 4, 1],
  ],
  [
    [2, 3, 17],
    [2, 1, 17],
  ],
  [[0, 5], [5]],
];

describeBackends('elementwise ops', () => {
  for (const [name, fn, f, kind] of unaries) {
    const check = (shape: number[]): OpCheck => ({
      name,
      inputs: [{ shape, kind }],
      run: fn,
      reference: (x) => refMap(f, x),
      atol: 1e-5,
      rtol: 2e-4,
    });
    it(`${name} forward matches float64`, async () => {
      for (const shape of [[], [1], [7], [13, 33], [2, 0, 3], [3, 5, 17]]) await expectForward(check(shape));
    });
    it(`${name} backward matches finite differences`, async () => {
      await expectBackward(check([3, 7]));
    });
  }

  for (const [name, fn, f, kind] of binaries) {
    const check = (a: number[], b: number[]): OpCheck => ({
      name,
      inputs: [
        { shape: a, kind },
        { shape: b, kind: name === 'pow' ? 'unit' : kind },
      ],
      run: fn,
      reference: (x, y) => refMap(f, x, y),
      rtol: 2e-4,
    });
    it(`${name} forward broadcasts like NumPy`, async () => {
      for (const [a, b] of shapePairs) {
        await expectForward(check(a, b));
        await expectForward(check(b, a));
      }
    });
    it(`${name} backward reduces broadcast gradients`, async () => {
      await expectBackward(check([5, 1, 7], [1, 4, 1]));
      await expectBackward(check([3], [2, 3]));
    });
  }

  it('comparisons give 0/1 and int32 arithmetic stays int32', async () => {
    const a = T.tensor([1, 2, 3, 4]);
    const b = T.tensor([4, 2, 1, 4]);
    const expected: [(x: T.Tensor, y: T.Tensor) => T.Tensor, number[]][] = [
      [T.eq, [0, 1, 0, 1]],
      [T.ne, [1, 0, 1, 0]],
      [T.lt, [1, 0, 0, 0]],
      [T.le, [1, 1, 0, 1]],
      [T.gt, [0, 0, 1, 0]],
      [T.ge, [0, 1, 1, 1]],
    ];
    for (const [f, want] of expected) {
      const r = f(a, b);
      expectArray(await r.data(), want);
      r.dispose();
    }
    const i = T.tensor(Int32Array.from([7, -7, 9]));
    const q = i.div(2);
    if (q.dtype !== 'int32') throw new Error(`int32 / int32 gave ${q.dtype}`);
    expectArray(await q.data(), [3, -3, 4]);
    for (const t of [a, b, i, q]) t.dispose();
  });

  it('where selects with broadcasting and routes gradients', async () => {
    const check: OpCheck = {
      name: 'where',
      inputs: [
        { shape: [4, 1], kind: { low: 0, high: 2 }, dtype: 'float32', grad: false },
        { shape: [4, 5] },
        { shape: [5] },
      ],
      run: (c, a, b) => T.where(c, a, b),
      reference: (c, a, b) => refMap((cv, av, bv) => (cv !== 0 ? av : bv), c, a, b),
    };
    await expectForward(check);
    await expectBackward(check);
  });
});

function expectArray(actual: ArrayLike<number>, expected: number[]): void {
  const got = Array.from(actual);
  if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) {
    throw new Error(`expected [${expected}], got [${got}]`);
  }
}
