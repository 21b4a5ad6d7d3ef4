import { expect, it } from 'vitest';
import * as T from '../index.js';
import { describeBackends } from '../testing/describe-backends.js';
import { makeRng, worstMismatch } from '../testing/reference.js';

describeBackends('adamwStep', () => {
  it('matches a float64 AdamW (decoupled decay, bias correction, gradScale) over 3 steps', async () => {
    const rng = makeRng(5);
    const n = 37;
    const p0 = Array.from({ length: n }, () => rng() * 2 - 1);
    const grads = [0, 1, 2].map(() => Array.from({ length: n }, () => rng() * 2 - 1));
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const scale = 0.5;
    // Reference.
    const p = Float64Array.from(p0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (let s = 1; s <= 3; s++) {
      for (let i = 0; i < n; i++) {
        const g = Math.fround(grads[s - 1]![i]!) * scale;
        m[i] = hyper.beta1 * m[i]! + (1 - hyper.beta1) * g;
        v[i] = hyper.beta2 * v[i]! + (1 - hyper.beta2) * g * g;
        const mh = m[i]! / (1 - hyper.beta1 ** s);
        const vh = v[i]! / (1 - hyper.beta2 ** s);
        p[i] = p[i]! - hyper.lr * hyper.weightDecay * p[i]! - (hyper.lr * mh) / (Math.sqrt(vh) + hyper.eps);
      }
    }
    // Device.
    const param = T.tensor(p0, undefined, { requiresGrad: true });
    const mt = T.zerosLike(param);
    const vt = T.zerosLike(param);
    const gs = T.tensor([scale], []);
    for (let s = 1; s <= 3; s++) {
      param.grad?.dispose();
      param.grad = T.keep(T.tensor(grads[s - 1]!));
      T.adamwStep(param, mt, vt, { ...hyper, step: s }, gs);
    }
    const w = worstMismatch(await param.data(), p, 1e-6, 1e-5);
    expect(w.index, `param ${w.index}: ${w.actual} vs ${w.expected}`).toBe(-1);
    for (const t of [param, mt, vt, gs]) t.dispose();
  });

  it('refuses views and missing gradients', () => {
    const p = T.zeros([4, 4], { requiresGrad: true });
    const m = T.zeros([4, 4]);
    const hyper = { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 1 };
    expect(() => T.adamwStep(p, m, m, hyper)).toThrow(/adamwStep: param \[4, 4\] has no .grad/);
    p.grad = T.keep(T.zeros([4, 4]));
    const view = m.transpose(0, 1);
    expect(() => T.adamwStep(p, view, m, hyper)).toThrow(/m \[4, 4\] must own a whole contiguous storage/);
    for (const t of [p, m, view]) t.dispose();
  });
});
