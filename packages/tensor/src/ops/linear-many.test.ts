import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import type { Ref } from '../testing/reference.js';

/** float64 x [..., K] · wᵀ for w [N, K] → [..., N]. */
function refLinear(x: Ref, w: Ref): Ref {
  const K = x.shape[x.shape.length - 1]!;
  const [N] = w.shape as [number];
  const rows = x.data.length / K;
  const data = new Float64Array(rows * N);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x.data[m * K + k]! * w.data[n * K + k]!;
      data[m * N + n] = s;
    }
  }
  return { shape: [...x.shape.slice(0, -1), N], data };
}

/** The outputs flattened and joined, so one check covers every part (concat's backward hands each part a view). */
function joined(parts: Ref[]): Ref {
  const data = new Float64Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { shape: [data.length], data };
}

const manyCheck = (lead: number[], K: number, outs: number[]): OpCheck => ({
  name: `linearMany ${JSON.stringify(lead)}×${K} → ${JSON.stringify(outs)}`,
  inputs: [{ shape: [...lead, K] }, ...outs.map((n) => ({ shape: [n, K] }))],
  run: (x, ...ws) =>
    T.concat(
      T.linearMany(x!, ws).map((y) => y.reshape([-1])),
      0,
    ),
  reference: (x, ...ws) => joined(ws.map((w) => refLinear(x!, w))),
});

const residualCheck = (lead: number[], K: number, N: number): OpCheck => ({
  name: `linearResidual ${JSON.stringify(lead)}×${K} → ${N}`,
  inputs: [{ shape: [...lead, K] }, { shape: [N, K] }, { shape: [...lead, N] }],
  run: (x, w, r) => T.linearResidual(x!, w!, r!),
  reference: (x, w, r) => {
    const y = refLinear(x!, w!);
    return { shape: y.shape, data: y.data.map((v, i) => v + r!.data[i]!) };
  },
});

describeBackends('linearMany and linearResidual (grouped linear products)', () => {
  it('linearMany matches float64 forward and finite differences backward (1–3 weights, GQA widths, one row)', async () => {
    for (const c of [
      manyCheck([2, 5], 7, [9, 3, 3]), // q/k/v with fewer kv heads
      manyCheck([11], 13, [6, 6]), // gate/up
      manyCheck([1, 1], 9, [5, 2, 2]), // one decode row
      manyCheck([3], 4, [17]),
    ]) {
      await expectForward(c);
      await expectBackward(c);
    }
  });

  it('linearMany on sizes past one strip (rows, columns and K not multiples of the tiles)', async () => {
    await expectForward(manyCheck([37], 70, [133, 19, 19]));
    await expectForward(manyCheck([1], 301, [129, 65]));
  });

  it('linearResidual matches float64 forward and finite differences backward', async () => {
    for (const c of [residualCheck([2, 5], 7, 9), residualCheck([1, 1], 11, 6), residualCheck([13], 3, 17)]) {
      await expectForward(c);
      await expectBackward(c);
    }
    await expectForward(residualCheck([41], 67, 150));
  });

  it('gradients equal linear()’s when only some outputs are used, and x reached by two paths', async () => {
    T.setSeed(5);
    const x = T.randn([3, 4, 10], { requiresGrad: true });
    const ws = [T.randn([8, 10]), T.randn([5, 10]), T.randn([5, 10])].map((w) => w.requiresGrad_());
    const dy = T.randn([3, 4, 5]);
    const lossOf = (outs: T.Tensor[]) => outs[1]!.mul(dy).sum().add(x.square().sum());
    lossOf(T.linearMany(x, ws)).backward();
    const fused = [await x.grad!.data(), await ws[1]!.grad!.data()];
    expect(ws[0]!.grad).toBeNull();
    expect(ws[2]!.grad).toBeNull();
    T.zeroGrad([x, ...ws]);
    lossOf(ws.map((w) => T.linear(x, w))).backward();
    const plain = [await x.grad!.data(), await ws[1]!.grad!.data()];
    for (let t = 0; t < 2; t++) {
      for (let i = 0; i < plain[t]!.length; i++) expect(fused[t]![i]).toBeCloseTo(plain[t]![i]!, 4);
    }
  });

  it('names bad inputs', () => {
    const x = T.zeros([2, 4]);
    expect(() => T.linearMany(x, [])).toThrow(/linearMany: takes 1 to 3 weights, got 0/);
    expect(() => T.linearMany(x, [T.zeros([3, 4]), T.zeros([3, 5])])).toThrow(
      /linearMany: input \[2, 4\] does not end in the in-features of weight 1 \[3, 5\]/,
    );
    expect(() => T.linearResidual(x, T.zeros([3, 4]), T.zeros([2, 4]))).toThrow(
      /linearResidual: residual \[2, 4\] must be \[2, 3\]/,
    );
  });
});
