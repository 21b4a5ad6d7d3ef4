import { expect, it } from 'vitest';
import * as T from './index.js';
import { record } from './tape.js';
import { describeBackends } from './testing/describe-backends.js';
import { makeRng, randomRef } from './testing/reference.js';

/** A test op y = x (viewed as `outShape`, broadcast) whose rule returns its gradient untouched, in `outShape`. */
function broadcastIdentity(x: T.Tensor, outShape: number[]): T.Tensor {
  const y = T.noGrad(() => x.expand(outShape).contiguous());
  return record('broadcastIdentity', [x], y, (g) => [g]);
}

describeBackends('backward pass', () => {
  it('sums a gradient returned in the broadcast shape down to the input (leading and size-1 axes)', async () => {
    const rng = makeRng(7);
    const xRef = randomRef(rng, [3, 1]);
    const gRef = randomRef(rng, [2, 3, 4]);
    const x = T.tensor(Float32Array.from(xRef.data), [3, 1], { requiresGrad: true });
    const y = broadcastIdentity(x, [2, 3, 4]);
    const seed = T.tensor(Float32Array.from(gRef.data), [2, 3, 4]);
    y.backward(seed);
    // float64 reference: dx[i, 0] = Σ over b and k of g[b, i, k].
    const expected = [0, 1, 2].map((i) => {
      let s = 0;
      for (let b = 0; b < 2; b++) for (let k = 0; k < 4; k++) s += gRef.data[b * 12 + i * 4 + k]!;
      return s;
    });
    expect(x.grad!.shape).toEqual([3, 1]);
    const got = await x.grad!.data();
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
    for (const t of [x, y, seed]) t.dispose();
  });

  it('reduces where the gradient meets an inner node too, and leaks nothing', async () => {
    const x = T.randn([4], { requiresGrad: true, seed: 3 });
    const before = T.memory();
    const loss = T.tidy(() => {
      const h = x.mul(2); // inner node of shape [4]
      return broadcastIdentity(h, [5, 4]).square().sum();
    });
    loss.backward();
    loss.dispose();
    // d/dx Σ_b (2x)² = 5 · 2 · 2 · 2x = 40x.
    const xs = await x.data();
    const g = await x.grad!.data();
    for (let i = 0; i < 4; i++) expect(g[i]).toBeCloseTo(40 * xs[i]!, 4);
    x.grad!.dispose();
    x.grad = null;
    expect(T.memory().tensors).toBe(before.tensors);
    expect(T.memory().bytes).toBe(before.bytes);
    x.dispose();
  });

  it('still rejects a gradient that does not broadcast to its input, naming op, input and shapes', () => {
    const x = T.randn([3], { requiresGrad: true, seed: 4 });
    const y = record(
      'badSize',
      [x],
      T.noGrad(() => x.mul(1)),
      () => [T.zeros([5])],
    );
    expect(() => y.sum().backward()).toThrow(
      /backward of 'badSize': gradient for input 0 has shape \[5\], expected \[3\]/,
    );
    // A gradient of lower rank than its input is not a broadcast of it either.
    const w = T.randn([1, 3], { requiresGrad: true, seed: 5 });
    const z = record(
      'badRank',
      [w],
      T.noGrad(() => w.reshape([3])),
      () => [T.zeros([3])],
    );
    expect(() => z.sum().backward()).toThrow(
      /backward of 'badRank': gradient for input 0 has shape \[3\], expected \[1, 3\]/,
    );
    for (const t of [x, y, w, z]) t.dispose();
  });
});
