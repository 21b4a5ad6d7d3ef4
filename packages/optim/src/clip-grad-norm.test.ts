import { setBackend, type Tensor, tensor, tidy } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipGradNorm, gradNorm } from './clip-grad-norm.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('gradient-norm clipping on the device', () => {
  const setup = () => {
    const a = tensor([0, 0, 0], [3], { requiresGrad: true });
    const b = tensor([0, 0, 0, 0], [2, 2], { requiresGrad: true });
    const c = tensor([0], [1], { requiresGrad: true }); // no gradient: skipped
    tidy(() => {
      a.mul(tensor([3, 0, 4], [3]))
        .sum()
        .add(b.mul(tensor([12, 0, 0, 0], [2, 2])).sum())
        .backward();
    });
    return { a, b, c };
  };

  it('computes the global L2 norm of all gradients (3,0,4,12 → 13)', async () => {
    const { a, b, c } = setup();
    const norm = gradNorm([a, b, c]);
    expect(norm.size).toBe(1);
    expect(await norm.item()).toBeCloseTo(13, 5);
    expect(await gradNorm([a, b], 0.5).item()).toBeCloseTo(6.5, 5);
    for (const t of [a, b, c, norm]) t.dispose();
  });

  it('scale = min(1, maxNorm / (norm + 1e-6)), combined with gradScale', async () => {
    const { a, b } = setup();
    const big = clipGradNorm([a, b], 1);
    expect(await big.norm.item()).toBeCloseTo(13, 5);
    expect(await big.scale.item()).toBeCloseTo(1 / (13 + 1e-6), 7);
    const none = clipGradNorm([a, b], 100);
    expect(await none.scale.item()).toBe(1);
    const scaled = clipGradNorm([a, b], 1, 0.5);
    expect(await scaled.norm.item()).toBeCloseTo(6.5, 5);
    expect(await scaled.scale.item()).toBeCloseTo(0.5 / (6.5 + 1e-6), 7);
    // Gradients are untouched (the scale goes to the optimizer).
    expect([...((await (a.grad as Tensor).data()) as Float32Array)]).toEqual([3, 0, 4]);
    for (const t of [a, b, big.norm, big.scale, none.norm, none.scale, scaled.norm, scaled.scale]) t.dispose();
    expect(() => clipGradNorm([a], 0)).toThrow(/maxNorm must be > 0/);
  });
});
