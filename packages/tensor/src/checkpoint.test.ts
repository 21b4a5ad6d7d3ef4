import { expect, it } from 'vitest';
import * as T from './index.js';
import { describeBackends } from './testing/describe-backends.js';

describeBackends('checkpoint', () => {
  it('frees the segment’s activations after the forward (no tidy needed in fn); same gradients; no leaks', async () => {
    const x = T.randn([16, 32], { seed: 1, requiresGrad: true });
    const w1 = T.randn([32, 64], { seed: 2, requiresGrad: true });
    const w2 = T.randn([64, 32], { seed: 3, requiresGrad: true });
    // Several ops whose outputs the plain graph must save (matmul, gelu, exp, mul), and no tidy of its own.
    const block = (h: T.Tensor) => h.matmul(w1).gelu().mul(0.1).exp().matmul(w2).tanh();
    const params = [x, w1, w2];

    const run = async (useCheckpoint: boolean) => {
      T.zeroGrad(params);
      const base = T.memory();
      // Without checkpointing the caller tidies, so only what the graph saved stays alive: the fair comparison.
      const y = useCheckpoint ? T.checkpoint(block, x) : T.tidy(() => block(x));
      const held = T.memory().bytes - base.bytes;
      const loss = T.tidy(() => y.square().sum());
      loss.backward();
      const grads = await Promise.all(params.map((p) => p.grad!.data()));
      loss.dispose();
      y.dispose();
      T.zeroGrad(params);
      // Everything the forward, the recompute and backward created is gone again.
      expect(T.memory()).toMatchObject({ tensors: base.tensors, bytes: base.bytes });
      return { held, grads };
    };
    const plain = await run(false);
    const ck = await run(true);
    // The checkpointed segment holds only its [16, 32] output (2 KiB); the plain graph holds its activations too.
    expect(ck.held).toBe(16 * 32 * 4);
    expect(ck.held).toBeLessThan(plain.held / 4);
    for (const [i, g] of plain.grads.entries()) {
      const got = ck.grads[i]!;
      expect(got.length).toBe(g.length);
      let worst = 0;
      for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(got[j]! - g[j]!) / (1e-5 + Math.abs(g[j]!)));
      expect(worst, `gradient ${i}`).toBeLessThan(1e-4);
    }
    for (const p of params) p.dispose();
  });

  it('frees the intermediates of fn under noGrad too, and when fn returns its input', async () => {
    const x = T.randn([4, 8], { seed: 4 });
    const base = T.memory();
    const y = T.noGrad(() => T.checkpoint((h) => h.exp().add(1).log(), x));
    expect(T.memory().bytes - base.bytes).toBe(4 * 8 * 4);
    y.dispose();
    const xr = T.randn([4, 8], { seed: 5, requiresGrad: true });
    const before = T.memory();
    const same = T.checkpoint((h) => h, xr);
    expect(T.memory().bytes).toBe(before.bytes); // a view of xr, no new storage
    const total = same.sum();
    total.backward();
    expect(await xr.grad!.data()).toEqual(new Float32Array(32).fill(1));
    total.dispose();
    same.dispose();
    // fn handing back a parameter it captured: the recompute must not dispose the parameter.
    const w = T.randn([4, 8], { seed: 6, requiresGrad: true });
    const viaW = T.checkpoint(() => w, xr);
    const wTotal = viaW.sum();
    wTotal.backward();
    expect(w.isDisposed).toBe(false);
    expect(await w.grad!.data()).toEqual(new Float32Array(32).fill(1));
    for (const t of [wTotal, viaW, w]) t.dispose();
    xr.dispose();
    x.dispose();
    expect(T.memory()).toMatchObject({ tensors: base.tensors - 1, bytes: base.bytes - 4 * 8 * 4 });
  });
});
