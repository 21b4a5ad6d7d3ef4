import { expect, it } from 'vitest';
import * as T from '../index.js';
import { expectBackward, expectForward, type OpCheck } from '../testing/check-op.js';
import { describeBackends } from '../testing/describe-backends.js';
import type { Ref } from '../testing/reference.js';

/** float64 silu(g) · u. */
function refSwiglu(g: Ref, u: Ref): Ref {
  const data = new Float64Array(g.data.length);
  for (let i = 0; i < data.length; i++) {
    const x = g.data[i]!;
    data[i] = (x / (1 + Math.exp(-x))) * u.data[i]!;
  }
  return { shape: g.shape, data };
}

const check = (shape: number[], scale = 1): OpCheck => ({
  name: `swiglu ${JSON.stringify(shape)}`,
  inputs: [{ shape }, { shape }],
  run: (g, u) => T.swiglu(g!.mul(scale), u!),
  reference: (g, u) => refSwiglu({ shape: g.shape, data: g.data.map((x) => x * scale) }, u),
});

describeBackends('swiglu (fused SwiGLU gating)', () => {
  it('matches float64 silu(gate)·up forward and finite differences backward on awkward shapes', async () => {
    for (const shape of [[1], [7, 13], [2, 3, 129]]) {
      await expectForward(check(shape));
      await expectBackward(check(shape));
    }
    // Large |gate| (sigmoid saturates): still finite and equal to the reference.
    await expectForward(check([5, 9], 40));
  });

  it('equals the silu·mul composition forward and backward, including through strided inputs', async () => {
    T.setSeed(3);
    const g = T.randn([6, 10], { requiresGrad: true });
    const u = T.randn([10, 6], { requiresGrad: true });
    const dy = T.randn([6, 10]);
    T.swiglu(g, u.transpose(0, 1)).mul(dy).sum().backward();
    const [dg1, du1] = [await g.grad!.data(), await u.grad!.data()];
    T.zeroGrad([g, u]);
    g.silu().mul(u.transpose(0, 1)).mul(dy).sum().backward();
    const [dg2, du2] = [await g.grad!.data(), await u.grad!.data()];
    for (let i = 0; i < dg1.length; i++) expect(dg1[i]).toBeCloseTo(dg2[i]!, 5);
    for (let i = 0; i < du1.length; i++) expect(du1[i]).toBeCloseTo(du2[i]!, 5);
  });

  it('names mismatched shapes', () => {
    expect(() => T.swiglu(T.zeros([2, 3]), T.zeros([3, 2]))).toThrow(/swiglu: gate \[2, 3\] and up \[3, 2\]/);
  });
});
