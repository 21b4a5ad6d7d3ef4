import { afterAll, describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { closeness, gatherView, randomFloats, readNumbers, transposed, tryWebGpu, upload } from './test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => Math.max(x, 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  sin: Math.sin,
  cos: Math.cos,
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: Math.max,
  minimum: Math.min,
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

suite('webgpu elementwise kernels', () => {
  const b = backend!;
  it('unary ops on a transposed [13, 33] view match float64', async () => {
    const data = randomFloats(13 * 33, 1, 0.05, 3);
    const x = transposed(upload(b, data, [13, 33]), 0, 1);
    const xs = gatherView(data, x);
    for (const [op, f] of Object.entries(UNARY)) {
      const out = b.unary(op as UnaryOp, x);
      const got = await readNumbers(b, out);
      expect(closeness(got, xs.map(f), 1e-5, 2e-5), op).toBeLessThanOrEqual(1);
      b.free(out);
    }
  });

  it('binary ops broadcast [7, 1, 5] with [1, 129, 5] and int32 arithmetic', async () => {
    const da = randomFloats(35, 2, -2, 2).map((v) => Math.round(v * 2) / 2);
    const db = randomFloats(129 * 5, 3, -2, 2).map((v) => Math.round(v * 2) / 2 || 0.5);
    const a = upload(b, da, [7, 1, 5]);
    const bb = upload(b, db, [1, 129, 5]);
    const shape = [7, 129, 5];
    const av = { ...a, shape, strides: [5, 0, 1] };
    const bv = { ...bb, shape, strides: [0, 5, 1] };
    const xa = gatherView(da, av);
    const xb = gatherView(db, bv);
    for (const [op, f] of Object.entries(BINARY)) {
      const out = b.binary(op as BinaryOp, av, bv, shape);
      const got = await readNumbers(b, out);
      expect(
        closeness(
          got,
          xa.map((v, i) => f(v, xb[i]!)),
          1e-5,
          1e-5,
        ),
        op,
      ).toBeLessThanOrEqual(1);
      b.free(out);
    }
    const ia = upload(b, Int32Array.from([7, -7, 3, 0, 9]), [5]);
    const ib = upload(b, Int32Array.from([2, 2, -4, 5, 3]), [5]);
    const div = b.binary('div', ia, ib, [5]);
    expect(Array.from(await b.read(div))).toEqual([3, -3, 0, 0, 3]);
    expect(b.binary('lt', ia, ib, [5]).dtype).toBe('int32');
  });

  it('where, copy with conversion, copyInto a strided window, fill and arange', async () => {
    const cond = upload(b, Int32Array.from([1, 0, 1, 0, 0, 1]), [2, 3]);
    const x = upload(b, Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const y = upload(b, Float32Array.from([-1, -2, -3]), [3]);
    const w = b.where(cond, x, { ...y, shape: [2, 3], strides: [0, 1] }, [2, 3]);
    expect(await readNumbers(b, w)).toEqual([1, -2, 3, -1, -2, 6]);
    const f = upload(b, Float32Array.from([1.7, -1.7, 2.5, -0.2]), [4]);
    expect(await readNumbers(b, b.copy(f, 'int32'))).toEqual([1, -1, 2, 0]);
    const t = transposed(x, 0, 1);
    expect(await readNumbers(b, b.copy(t))).toEqual([1, 4, 2, 5, 3, 6]);
    const dst = b.fill('float32', 12, 0);
    // dst viewed as [3, 4]; write a [2, 3] block into rows 1..2, cols 1..3.
    b.copyInto({ storage: dst, shape: [2, 3], strides: [4, 1], offset: 5 }, x);
    expect(await readNumbers(b, dst)).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6]);
    // Aliasing source and destination: shift a row within one storage.
    b.copyInto(
      { storage: dst, shape: [4], strides: [1], offset: 0 },
      { storage: dst, shape: [4], strides: [1], offset: 4 },
    );
    expect((await readNumbers(b, dst)).slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(await readNumbers(b, b.arange('int32', 5, 3, -2))).toEqual([3, 1, -1, -3, -5]);
    expect(await readNumbers(b, b.fill('float32', 3, 2.5))).toEqual([2.5, 2.5, 2.5]);
  });

  it('reductions over arbitrary axes of a permuted view, including argmax ties', async () => {
    const shape = [5, 7, 33];
    const data = randomFloats(5 * 7 * 33, 4, -3, 3).map((v) => Math.round(v * 4) / 4);
    const x = upload(b, data, shape);
    const perm = { ...x, shape: [33, 5, 7], strides: [1, 7 * 33, 33] };
    const vals = gatherView(data, perm);
    const at = (i: number, j: number, k: number) => vals[(i * 5 + j) * 7 + k]!;
    for (const axes of [[0], [1, 2], [0, 2], [0, 1, 2]]) {
      for (const op of ['sum', 'max', 'min'] as const) {
        const got = await readNumbers(b, b.reduce(op, perm, axes));
        const kept = [0, 1, 2].filter((d) => !axes.includes(d));
        const dims = [33, 5, 7];
        const outShape = kept.map((d) => dims[d]!);
        const outN = outShape.reduce((p, q) => p * q, 1);
        const ref = new Array<number>(outN).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
        for (let i = 0; i < 33; i++)
          for (let j = 0; j < 5; j++)
            for (let k = 0; k < 7; k++) {
              const c = [i, j, k];
              let o = 0;
              for (const d of kept) o = o * dims[d]! + c[d]!;
              const v = at(i, j, k);
              ref[o] = op === 'sum' ? ref[o]! + v : op === 'max' ? Math.max(ref[o]!, v) : Math.min(ref[o]!, v);
            }
        expect(closeness(got, ref, 1e-4, 1e-5), `${op} ${axes}`).toBeLessThanOrEqual(1);
      }
    }
    // argmax over a long axis (workgroup path) and a short one (thread path), first maximum wins.
    const long = new Float32Array(3 * 1000).fill(1);
    long[417] = 5;
    long[900] = 5;
    long[1000 + 3] = 2;
    long[2000 + 999] = 7;
    const lv = upload(b, long, [3, 1000]);
    expect(await readNumbers(b, b.reduce('argmax', lv, [1]))).toEqual([417, 3, 999]);
    const short = upload(b, Float32Array.from([1, 3, 3, 2, 9, 9]), [2, 3]);
    expect(await readNumbers(b, b.reduce('argmax', short, [1]))).toEqual([1, 1]);
    const sum = await readNumbers(b, b.reduce('sum', lv, [0, 1]));
    expect(sum[0]).toBeCloseTo(3000 + 4 + 4 + 1 + 6, 3);
  });
});
