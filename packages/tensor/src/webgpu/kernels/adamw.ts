/**
 * One fused AdamW step in place over param, grad, m and v (decoupled weight decay, bias-corrected moments).
 * Bias corrections are computed on the host in float64; the optional 1-element gradScale is read on the device.
 *
 * @module
 */

import type { AdamWHyper } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { ELEMENT_MAIN } from './row.js';

const CODE = (scaled: boolean) => `
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
${scaled ? '@group(0) @binding(5) var<storage, read> scale: array<f32>;' : ''}
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let lr = pf(1u); let b1 = pf(2u); let b2 = pf(3u); let eps = pf(4u); let wd = pf(5u);
  let bc1 = pf(6u); let bc2 = pf(7u);
  let gi = g[i]${scaled ? ' * scale[0]' : ''};
  let mi = b1 * m[i] + (1.0 - b1) * gi;
  let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  let pi = p[i];
  p[i] = pi - lr * wd * pi - (lr * (mi / bc1)) / (sqrt(vi / bc2) + eps);
}`;

/** In-place AdamW on equal-size contiguous float32 storages. */
export function adamw(
  rt: Runtime,
  param: GpuStorage,
  grad: GpuStorage,
  m: GpuStorage,
  v: GpuStorage,
  h: AdamWHyper,
  gradScale?: GpuStorage,
): void {
  const n = param.size;
  if (grad.size !== n || m.size !== n || v.size !== n) {
    throw new Error(`webgpu.adamw: sizes differ (param ${n}, grad ${grad.size}, m ${m.size}, v ${v.size})`);
  }
  if (n === 0) return;
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const params = [n, ...[h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2].map(f32bits)];
  const p = rt.pipeline(`adamw:${!!gradScale}`, () => CODE(!!gradScale));
  const storages = gradScale ? [param, m, v, grad, gradScale] : [param, m, v, grad];
  rt.dispatch(p, storages, params, Math.ceil(n / 128));
}
