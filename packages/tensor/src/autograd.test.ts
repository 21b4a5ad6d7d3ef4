import { expect, it } from 'vitest';
import * as T from './index.js';
import { describeBackends } from './testing/describe-backends.js';

describeBackends('autograd and memory', () => {
  it('noGrad records nothing and keeps no saved tensors', async () => {
    const w = T.randn([4, 4], { requiresGrad: true, seed: 1 });
    const before = T.memory();
    const y = T.noGrad(() => w.matmul(w).exp().sum());
    expect(y.requiresGrad).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
    expect(() => y.backward()).toThrow(/backward: tensor \[\] does not require grad/);
    // Only y is left: the intermediates were never saved by a graph.
    y.dispose();
    expect(T.memory().tensors).toBe(before.tensors + 2); // matmul and exp outputs were not disposed by hand
    const z = await T.noGrad(async () => w.mul(2));
    expect(z.requiresGrad).toBe(false);
    z.dispose();
    w.dispose();
  });

  it('tidy frees everything but its result, and keep() escapes', () => {
    const x = T.randn([8, 8], { seed: 2 });
    const base = T.memory();
    let kept: T.Tensor | undefined;
    const out = T.tidy(() => {
      const a = x.mul(2).add(1);
      kept = T.keep(a.exp());
      return { r: [a.sum()] };
    });
    expect(T.memory().tensors).toBe(base.tensors + 2);
    expect(out.r[0]!.isDisposed).toBe(false);
    out.r[0]!.dispose();
    kept!.dispose();
    expect(T.memory().tensors).toBe(base.tensors);
    expect(T.memory().bytes).toBe(base.bytes);
    expect(() => T.tidy(() => Promise.resolve(1))).toThrow(/tidy: fn returned a Promise/);
    x.dispose();
  });

  it('use after dispose throws, naming the op and shape', async () => {
    const x = T.ones([2, 3]);
    x.dispose();
    expect(() => x.add(1)).toThrow(/add: tensor \[2, 3\] \(float32\) was used after dispose\(\)/);
    await expect(x.data()).rejects.toThrow(/data: tensor \[2, 3\]/);
    expect(() => T.matmul(x, x)).toThrow(/matmul: .*after dispose/);
  });

  it('dtype and shape mismatches name op and shapes', () => {
    const f = T.zeros([2, 3]);
    const i = T.zeros([3], { dtype: 'int32' });
    const g = T.zeros([4]);
    expect(() => f.add(i)).toThrow(/add: dtype mismatch, float32 \[2, 3\] vs int32 \[3\]/);
    expect(() => f.mul(g)).toThrow(/mul: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    for (const t of [f, i, g]) t.dispose();
  });

  it('gradients accumulate across backward calls and a freed graph cannot be reused', async () => {
    const w = T.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y1 = w.mul(w).sum();
    y1.backward();
    const y2 = w.mul(3).sum();
    y2.backward();
    expect(Array.from(await w.grad!.data())).toEqual([5, 7, 9]);
    expect(() => y1.backward()).toThrow(/already freed/);
    w.zeroGrad();
    expect(w.grad).toBeNull();
    for (const t of [w, y1, y2]) t.dispose();
  });

  it('backward refuses saved values that were overwritten in place', () => {
    const w = T.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const x = T.tensor([4, 5, 6]);
    const y = T.tidy(() => w.mul(x).sum());
    x.assign(T.tidy(() => T.zeros([3])));
    expect(() => y.backward()).toThrow(/backward of 'mul': saved tensor \[3\] was modified in place/);
    for (const t of [w, x, y]) t.dispose();
  });

  it('a diamond graph sums both paths; backward frees saved activations', async () => {
    const x = T.tensor([0.5, -1, 2], undefined, { requiresGrad: true });
    const base = T.memory();
    const y = T.tidy(() => {
      const h = x.exp();
      return h.mul(h.sin()).sum();
    });
    const withGraph = T.memory().bytes;
    expect(withGraph).toBeGreaterThan(base.bytes + 4);
    y.backward();
    // d/dx exp(x)·sin(exp(x)) = exp(x)·sin(exp(x)) + exp(2x)·cos(exp(x))
    const g = await x.grad!.data();
    [0.5, -1, 2].forEach((v, i) => {
      const e = Math.exp(v);
      expect(g[i]).toBeCloseTo(e * Math.sin(e) + e * e * Math.cos(e), 4);
    });
    // Only y and x's grad remain beyond the baseline.
    expect(T.memory().tensors).toBe(base.tensors + 2);
    y.dispose();
    x.dispose();
  });

  it('disposing the output of an unused graph frees its saved tensors', () => {
    const w = T.randn([16, 16], { requiresGrad: true, seed: 5 });
    const base = T.memory();
    const y = T.tidy(() => w.matmul(w).relu().sum());
    expect(T.memory().bytes).toBeGreaterThan(base.bytes + 4);
    y.dispose();
    expect(T.memory()).toMatchObject({ tensors: base.tensors, bytes: base.bytes });
    w.dispose();
  });

  it('checkpoint gives the same gradients as no checkpoint, including parameters captured by the segment', async () => {
    const x = T.randn([3, 8], { seed: 7, requiresGrad: true });
    const w1 = T.randn([8, 8], { seed: 8, requiresGrad: true });
    const w2 = T.randn([8, 4], { seed: 9, requiresGrad: true });
    const block = (h: T.Tensor) => T.tidy(() => T.dropout(h.matmul(w1).gelu(), 0.3).matmul(w2).tanh());
    T.setSeed(123);
    const plain = T.tidy(() => block(x).square().sum());
    plain.backward();
    const expected = await Promise.all([x, w1, w2].map((t) => t.grad!.data()));
    T.zeroGrad([x, w1, w2]);
    T.setSeed(123);
    const ck = T.tidy(() => T.checkpoint(block, x).square().sum());
    expect(await ck.item()).toBeCloseTo(await plain.item(), 5);
    ck.backward();
    for (const [i, t] of [x, w1, w2].entries()) {
      const got = await t.grad!.data();
      got.forEach((v, j) => {
        expect(v).toBeCloseTo(expected[i]![j]!, 5);
      });
    }
    // Parameters only (input without grad) still get gradients.
    T.zeroGrad([x, w1, w2]);
    const x2 = x.detach();
    const ck2 = T.tidy(() => T.checkpoint(block, x2).sum());
    ck2.backward();
    expect(w1.grad).not.toBeNull();
    for (const t of [x, w1, w2, x2, plain, ck, ck2]) t.dispose();
  });

  it('reads back with data/item/tolist and disposes through Symbol.dispose', async () => {
    const x = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await x.transpose(0, 1).tolist()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(await T.tensor(7).tolist()).toBe(7);
    expect(await x.slice(1, 2, 3).slice(0, 1, 2).item()).toBe(6);
    await expect(x.item()).rejects.toThrow(/item: tensor \[2, 3\] has 6 elements, expected 1/);
    expect(String(x)).toBe('Tensor(float32 [2, 3], ' + T.getBackend().name + ')');
    x[Symbol.dispose]();
    expect(x.isDisposed).toBe(true);
  });

  it('tensors of two backends cannot be mixed', async () => {
    const here = T.zeros([2]);
    const cpu = T.createCpuBackend();
    const other = T.Tensor.fromStorage(cpu.fill('float32', 2, 1), cpu, [2]);
    expect(() => here.add(other)).toThrow(/add: tensors on different backends/);
    here.dispose();
    other.dispose();
  });
});
