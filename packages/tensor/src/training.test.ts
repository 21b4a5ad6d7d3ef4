import { expect, it } from 'vitest';
import * as T from './index.js';
import { describeBackends } from './testing/describe-backends.js';

/**
 * A small transformer-like MLP: embedding → rmsNorm → matmul → silu → matmul → crossEntropy, trained with the fused
 * AdamW step. Memory must be flat once warm: every intermediate of a step is freed.
 */
describeBackends('training loop', () => {
  it('200 AdamW steps keep memory flat and reduce the loss', async () => {
    const V = 13;
    const D = 16;
    const H = 33;
    T.setSeed(0);
    const params = {
      emb: T.randn([V, D], { requiresGrad: true }),
      norm: T.ones([D], { requiresGrad: true }),
      w1: T.keep(T.tidy(() => T.randn([D, H]).mul(1 / Math.sqrt(D)))).requiresGrad_(),
      w2: T.keep(T.tidy(() => T.randn([H, V]).mul(1 / Math.sqrt(H)))).requiresGrad_(),
    };
    const list = Object.values(params);
    const moments = list.map((p) => [T.zerosLike(p), T.zerosLike(p)] as const);
    // Next-token task: target = (id · 3 + 1) mod V.
    const ids = T.tensor(
      Int32Array.from({ length: 24 }, (_, i) => (i * 7) % V),
      [4, 6],
    );
    const targets = T.tensor(
      Int32Array.from({ length: 24 }, (_, i) => (((i * 7) % V) * 3 + 1) % V),
      [4, 6],
    );
    const step = (n: number): T.Tensor => {
      const loss = T.tidy(() => {
        const h = T.rmsNorm(T.embedding(params.emb, ids), params.norm, 1e-6);
        const logits = h.matmul(params.w1).silu().matmul(params.w2);
        return T.crossEntropy(logits, targets);
      });
      loss.backward();
      list.forEach((p, i) => {
        T.adamwStep(p, moments[i]![0], moments[i]![1], {
          lr: 1e-2,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          step: n,
        });
      });
      T.zeroGrad(list);
      return loss;
    };
    const first = step(1);
    const firstLoss = await first.item();
    first.dispose();
    let warm = T.memory();
    for (let n = 2; n <= 200; n++) {
      const loss = step(n);
      await (n === 10 ? loss.item() : undefined);
      loss.dispose();
      if (n === 10) warm = T.memory();
      if (n > 10 && n % 50 === 0) {
        await T.sync();
        expect(T.memory().tensors).toBe(warm.tensors);
        expect(T.memory().bytes).toBe(warm.bytes);
      }
    }
    const last = step(201);
    expect(await last.item()).toBeLessThan(firstLoss * 0.2);
    last.dispose();
    expect(T.memory().tensors).toBe(warm.tensors);
    for (const t of [...list, ...moments.flat(), ids, targets]) t.dispose();
  });
});
