import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import type { Ref } from '../testing/reference.js';

/** float64 sum = x + r, y = rmsNorm(sum)·w; returns y + c·sum so one output checks both (and both gradients). */
function refAddRmsNorm(x: Ref, r: Ref, w: Ref, eps: number, c: number): Ref {
  const D = w.shape[0]!;
  const data = new Float64Array(x.data.length);
  for (let row = 0; row * D < data.length; row++) {
    let ss = 0;
    for (let j = 0; j < D; j++) {
      const s = x.data[row * D + j]! + r.data[row * D + j]!;
      ss += s * s;
    }
    const rstd = 1 / Math.sqrt(ss / D + eps);
    for (let j = 0; j < D; j++) {
      const s = x.data[row * D + j]! + r.data[row * D + j]!;
      data[row * D + j] = s * rstd * w.data[j]! + c * s;
    }
  }
  return { shape: x.shape, data };
}

const check = (shape: number[], c: number): OpCheck => ({
  name: `addRmsNorm ${JSON.stringify(shape)} + ${c}·sum`,
  inputs: [{ shape }, { shape }, { shape: [shape.at(-1)!] }],
  run: (x, r, w) => {
    const { sum, y } = T.addRmsNorm(x!, r!, w!, 1e-5);
    return y.add(sum.mul(c));
  },
  reference: (x, r, w) => refAddRmsNorm(x, r, w, 1e-5, c),
});

describeBackends('addRmsNorm (fused residual add + RMSNorm)', () => {
  it('matches float64 for both outputs, forward and finite-difference backward, on awkward shapes', async () => {
    for (const shape of [
      [1, 1],
      [3, 7],
      [2, 5, 129],
    ]) {
      await expectForward(check(shape, 0));
      await expectForward(check(shape, 0.7));
      await expectBackward(check(shape, 0.7));
    }
  });

  it('equals the add + rmsNorm composition, gradients included', async () => {
    T.setSeed(5);
    const x = T.randn([4, 33], { requiresGrad: true });
    const r = T.randn([4, 33], { requiresGrad: true });
    const w = T.randn([33], { requiresGrad: true });
    const dy = T.randn([4, 33]);
    const fused = T.addRmsNorm(x, r, w, 1e-6);
    fused.y.mul(dy).sum().add(fused.sum.square().sum()).backward();
    const got = [await fused.y.data(), await x.grad!.data(), await r.grad!.data(), await w.grad!.data()];
    T.zeroGrad([x, r, w]);
    const s = x.add(r);
    const y = T.rmsNorm(s, w, 1e-6);
    y.mul(dy).sum().add(s.square().sum()).backward();
    const want = [await y.data(), await x.grad!.data(), await r.grad!.data(), await w.grad!.data()];
    for (let k = 0; k < got.length; k++)
      for (let i = 0; i < got[k]!.length; i++) expect(got[k]![i]).toBeCloseTo(want[k]![i]!, 4);
  });

  it('names mismatched shapes', () => {
    expect(() => T.addRmsNorm(T.zeros([2, 3]), T.zeros([3, 3]), T.ones([3]))).toThrow(
      /addRmsNorm: x \[2, 3\] and residual \[3, 3\]/,
    );
    expect(() => T.addRmsNorm(T.zeros([2, 3]), T.zeros([2, 3]), T.ones([2]))).toThrow(/weight \[2\] must be \[D\]/);
  });
});
