import type { AdamWHyper } from '../backend/backend.js';
import { fmt, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './inputs.js';

/**
 * One fused AdamW update in place, using `param.grad`: m and v (same shape, float32) are the moment buffers, updated
 * in place too. `gradScale`, a one-element tensor, multiplies the gradient first (global-norm clipping without a
 * readback). Every tensor must own its whole contiguous storage (not a view). No gradient is recorded.
 */
export function adamwStep(param: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper, gradScale?: Tensor): void {
  const grad = param.grad;
  if (!grad) throw new Error(`adamwStep: param ${fmt(param.shape)} has no .grad (call backward first)`);
  const backend = backendOf('adamwStep', param, grad, m, v, ...(gradScale ? [gradScale] : []));
  for (const [name, t] of [
    ['param', param],
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const) {
    if (t.dtype !== 'float32') throw new Error(`adamwStep: ${name} must be float32, got ${t.dtype}`);
    if (!sameShape(t.shape, param.shape)) {
      throw new Error(`adamwStep: ${name} ${fmt(t.shape)} does not match param ${fmt(param.shape)}`);
    }
    if (!t.isWholeStorage())
      throw new Error(`adamwStep: ${name} ${fmt(t.shape)} must own a whole contiguous storage (not a view)`);
  }
  if (gradScale && (gradScale.size !== 1 || !gradScale.isWholeStorage() || gradScale.dtype !== 'float32')) {
    throw new Error(`adamwStep: gradScale must be a one-element float32 tensor, got ${fmt(gradScale.shape)}`);
  }
  if (!(hyper.step >= 1)) throw new Error(`adamwStep: step is 1-based, got ${hyper.step}`);
  backend.adamw(param.storage, grad.storage, m.storage, v.storage, hyper, gradScale?.storage);
  for (const t of [param, m, v]) t.storageRef.version++;
}
