import { setBackend, type Tensor, tensor, tidy } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { GradientAccumulator } from './gradient-accumulation.js';
import { SGD } from './sgd.js';

beforeAll(async () => {
  await setBackend('cpu');
});

function setGrad(p: Tensor, g: number[]): void {
  p.zeroGrad();
  tidy(() =>
    p
      .mul(tensor(g, [...p.shape]))
      .sum()
      .backward(),
  );
}

describe('SGD', () => {
  for (const nesterov of [false, true]) {
    it(`matches PyTorch's rule with momentum 0.9, weight decay 0.01, nesterov=${nesterov}`, async () => {
      const p = tensor([1, -2, 0.5], [3], { requiresGrad: true });
      const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov });
      const ref = [1, -2, 0.5].map(Math.fround);
      const buf = [0, 0, 0];
      const grads = [
        [0.3, -0.1, 2],
        [-1, 0.5, 0.25],
        [0.7, 0.7, -0.7],
      ];
      grads.forEach((g, step) => {
        setGrad(p, g);
        opt.step();
        for (let i = 0; i < 3; i++) {
          const gi = Math.fround(g[i] as number) + 0.01 * (ref[i] as number);
          buf[i] = step === 0 ? gi : 0.9 * (buf[i] as number) + gi;
          const dir = nesterov ? gi + 0.9 * (buf[i] as number) : (buf[i] as number);
          ref[i] = (ref[i] as number) - 0.1 * dir;
        }
      });
      const got = (await p.data()) as Float32Array;
      ref.forEach((r, i) => {
        expect(got[i]).toBeCloseTo(r, 5);
      });
      const state = await opt.stateDict();
      expect(state.state['0']?.buffers.momentum?.length).toBe(3);
      opt.dispose();
      p.dispose();
    });
  }
});

describe('GradientAccumulator', () => {
  it('summed micro-batch gradients with gradScale 1/N step like the mean gradient', async () => {
    const acc = new GradientAccumulator(2);
    const p = tensor([1, 2], [2], { requiresGrad: true });
    const q = tensor([1, 2], [2], { requiresGrad: true });
    const optP = new SGD([p], { lr: 0.5 });
    const optQ = new SGD([q], { lr: 0.5 });
    // Two micro-batches accumulate into p.grad (backward adds).
    tidy(() =>
      p
        .mul(tensor([1, 3], [2]))
        .sum()
        .backward(),
    );
    expect(acc.tick()).toBe(false);
    tidy(() =>
      p
        .mul(tensor([3, 5], [2]))
        .sum()
        .backward(),
    );
    expect(acc.tick()).toBe(true);
    expect(acc.pending).toBe(0);
    optP.step({ gradScale: acc.lossScale });
    setGrad(q, [2, 4]); // the mean gradient
    optQ.step();
    expect([...((await p.data()) as Float32Array)]).toEqual([...((await q.data()) as Float32Array)]);
    expect(() => new GradientAccumulator(0)).toThrow(/microSteps/);
    for (const t of [p, q]) t.dispose();
  });
});
