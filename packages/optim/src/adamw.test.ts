import { SeededRandom, setBackend, type Tensor, tensor, tidy } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adamw.js';
import { cosineSchedule } from './schedules.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float64Array {
  const rng = new SeededRandom(seed);
  return Float64Array.from({ length: n }, () => rng.next() * 2 * scale - scale);
}

/** Sets p.grad to exactly `g` by backpropagating Σ p·g. */
function setGrad(p: Tensor, g: Float64Array): void {
  p.zeroGrad();
  tidy(() =>
    p
      .mul(tensor(Float32Array.from(g), [...p.shape]))
      .sum()
      .backward(),
  );
}

/** Float64 AdamW (PyTorch's torch.optim.AdamW semantics) with global-norm clipping. */
class ReferenceAdamW {
  m: Float64Array[];
  v: Float64Array[];
  t = 0;
  constructor(
    public params: Float64Array[],
    public decay: boolean[],
    public o: { beta1: number; beta2: number; eps: number; wd: number; maxNorm: number },
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(grads: Float64Array[], lr: number): number {
    let sq = 0;
    for (const g of grads) for (const x of g) sq += x * x;
    const norm = Math.sqrt(sq);
    const clip = this.o.maxNorm > 0 ? Math.min(1, this.o.maxNorm / (norm + 1e-6)) : 1;
    this.t++;
    const { beta1, beta2, eps, wd } = this.o;
    this.params.forEach((p, j) => {
      const g = grads[j] as Float64Array;
      const m = this.m[j] as Float64Array;
      const v = this.v[j] as Float64Array;
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] as number) * clip;
        m[i] = beta1 * (m[i] as number) + (1 - beta1) * gi;
        v[i] = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
        const mh = (m[i] as number) / (1 - beta1 ** this.t);
        const vh = (v[i] as number) / (1 - beta2 ** this.t);
        p[i] = (p[i] as number) - lr * (this.decay[j] ? wd * (p[i] as number) : 0) - (lr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    return norm;
  }
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1e-3, Math.abs(b[i] as number)));
  }
  return m;
}

describe('AdamW vs a float64 reference', () => {
  for (const [label, maxGradNorm, gradScale] of [
    ['clipping active (large grads)', 1.0, 1],
    ['no clipping', 0, 1],
    ['clipping with gradScale 0.25', 1.0, 0.25],
  ] as const) {
    it(`matches over 8 steps with a schedule: ${label}`, async () => {
      const shapes = [[4, 6], [6], [3, 2, 5]];
      const init = shapes.map((s, j) =>
        values(
          s.reduce((a, b) => a * b, 1),
          10 + j,
          0.5,
        ),
      );
      const params = shapes.map((s, j) =>
        tensor(Float32Array.from(init[j] as Float64Array), s, { requiresGrad: true }),
      );
      const opt = new AdamW(
        params.map((p, j) => [`p${j}`, p] as const),
        { maxGradNorm },
      );
      expect([opt.beta1, opt.beta2, opt.eps, opt.weightDecay]).toEqual([0.9, 0.95, 1e-8, 0.1]);
      const ref = new ReferenceAdamW(
        init.map((p) => Float64Array.from(p, (x) => Math.fround(x))),
        [true, false, true],
        { beta1: 0.9, beta2: 0.95, eps: 1e-8, wd: 0.1, maxNorm: maxGradNorm },
      );
      const lr = cosineSchedule({ peakLr: 1e-2, warmupSteps: 3, totalSteps: 8 });
      for (let step = 0; step < 8; step++) {
        const grads = params.map((p, j) => values(p.size, 100 * step + j, step % 2 === 0 ? 3 : 0.05));
        params.forEach((p, j) => {
          setGrad(p, grads[j] as Float64Array);
        });
        const { gradNorm } = opt.step({ lr: lr(step), gradScale });
        const refNorm = ref.step(
          grads.map((g) => g.map((x) => Math.fround(x) * gradScale)),
          lr(step),
        );
        if (maxGradNorm > 0) {
          expect(gradNorm).not.toBeNull();
          expect(Math.abs(((await gradNorm?.item()) as number) - refNorm) / refNorm).toBeLessThan(1e-5);
          gradNorm?.dispose();
        } else {
          expect(gradNorm).toBeNull();
        }
        opt.zeroGrad();
      }
      for (let j = 0; j < params.length; j++) {
        const got = (await params[j]?.data()) as Float32Array;
        expect(maxRelDiff(got, ref.params[j] as Float64Array)).toBeLessThan(2e-5);
      }
      expect(opt.stepCount).toBe(8);
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('decays matrices only: with zero gradients a matrix shrinks by (1 - lr·wd), a vector stays', async () => {
    const w = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const b = tensor([1, 2], [2], { requiresGrad: true });
    const opt = new AdamW(
      [
        ['w', w],
        ['b', b],
      ],
      { lr: 0.5, maxGradNorm: 0 },
    );
    expect([opt.decays('w'), opt.decays('b')]).toEqual([true, false]);
    setGrad(w, new Float64Array(4));
    setGrad(b, new Float64Array(2));
    opt.step();
    expect([...((await w.data()) as Float32Array)]).toEqual([0.95, 1.9, 2.85, 3.8].map(Math.fround));
    expect([...((await b.data()) as Float32Array)]).toEqual([1, 2]);
    opt.dispose();
  });

  it('stateDict/loadStateDict resume exactly', async () => {
    const make = () => tensor(Float32Array.from(values(12, 5)), [3, 4], { requiresGrad: true });
    const a = make();
    const optA = new AdamW([['w', a]]);
    for (let s = 0; s < 3; s++) {
      setGrad(a, values(12, s));
      optA.step();
    }
    const saved = await optA.stateDict();
    expect(saved.step).toBe(3);
    expect(saved.state.w?.shape).toEqual([3, 4]);
    const b = tensor((await a.data()) as Float32Array, [3, 4], { requiresGrad: true });
    const optB = new AdamW([['w', b]]);
    optB.loadStateDict(saved);
    for (let s = 3; s < 5; s++) {
      for (const [p, o] of [
        [a, optA],
        [b, optB],
      ] as const) {
        setGrad(p, values(12, s));
        o.step();
      }
    }
    expect([...((await b.data()) as Float32Array)]).toEqual([...((await a.data()) as Float32Array)]);
    expect(() => optB.loadStateDict({ ...saved, state: {} })).toThrow(/missing state for \[w\]/);
    expect(() => optB.loadStateDict({ ...saved, state: { w: { shape: [4, 3], buffers: {} } } })).toThrow(
      /'w' has shape \[3, 4\] but state \[4, 3\]/,
    );
    optA.dispose();
    optB.dispose();
  });

  it('rejects a step without gradients and bad hyper-parameters', () => {
    const w = tensor([1, 2], [1, 2], { requiresGrad: true });
    const opt = new AdamW([w]);
    expect(() => opt.step()).toThrow(/no parameter has a gradient/);
    expect(() => new AdamW([w], { betas: [1, 0.9] })).toThrow(/betas/);
    opt.dispose();
  });
});
