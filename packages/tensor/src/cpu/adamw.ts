import type { AdamWHyper, Storage } from '../backend/backend.js';
import { cpuData, markWritten } from './storage.js';

/**
 * In-place AdamW: g = grad·scale; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * p = p − lr·wd·p − lr·m̂ / (sqrt(v̂) + eps) with m̂ = m / (1 − β1^step), v̂ = v / (1 − β2^step).
 */
export function adamw(
  param: Storage,
  grad: Storage,
  m: Storage,
  v: Storage,
  hyper: AdamWHyper,
  gradScale?: Storage,
): void {
  const p = cpuData(param);
  const g = cpuData(grad);
  const M = cpuData(m);
  const V = cpuData(v);
  const scale = gradScale ? cpuData(gradScale)[0]! : 1;
  for (const written of [param, m, v]) markWritten(written);
  const { lr, beta1, beta2, eps, weightDecay, step } = hyper;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * scale;
    const mi = beta1 * M[i]! + (1 - beta1) * gi;
    const vi = beta2 * V[i]! + (1 - beta2) * gi * gi;
    M[i] = mi;
    V[i] = vi;
    const pi = p[i]!;
    p[i] = pi - lr * weightDecay * pi - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}
