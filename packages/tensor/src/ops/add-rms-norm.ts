import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { add } from './add.js';
import { contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';
import { recordRmsNorm, rmsNorm } from './rms-norm.js';

/**
 * The pre-norm residual step of a LLaMA block in one kernel: `sum = x + residual` (the new residual stream) and
 * `y = rmsNorm(sum, weight, eps)`, for x and residual `[..., D]` of one shape and weight `[D]`. The backward is that
 * of the composition (the add passes gradients through; rmsNorm's fused backward), so only the forward saves a
 * dispatch and a pass over memory. Backends without the fused kernel compose add and rmsNorm.
 */
export function addRmsNorm(x: Tensor, residual: Tensor, weight: Tensor, eps = 1e-6): { sum: Tensor; y: Tensor } {
  const backend = backendOf('addRmsNorm', x, residual, weight);
  requireDtype('addRmsNorm', x, 'float32', 'x');
  requireDtype('addRmsNorm', residual, 'float32', 'residual');
  requireDtype('addRmsNorm', weight, 'float32', 'weight');
  const D = x.shape[x.shape.length - 1];
  if (x.shape.join() !== residual.shape.join()) {
    throw new Error(`addRmsNorm: x ${fmt(x.shape)} and residual ${fmt(residual.shape)} must have the same shape`);
  }
  if (D === undefined || weight.shape.length !== 1 || weight.shape[0] !== D) {
    throw new Error(`addRmsNorm: weight ${fmt(weight.shape)} must be [D] for x ${fmt(x.shape)} [..., D]`);
  }
  if (!backend.addRmsNorm) {
    const sum = add(x, residual);
    return { sum, y: rmsNorm(sum, weight, eps) };
  }
  const rows = D === 0 ? 0 : x.size / D;
  const xc = contiguousInput(x);
  const rc = contiguousInput(residual);
  const wc = contiguousInput(weight);
  const view = (t: Tensor) => ({ storage: t.storage, shape: [rows, D], strides: [D, 1], offset: t.offset });
  const out = backend.addRmsNorm(view(xc), view(rc), wc, eps);
  const sum = record('add', [x, residual], Tensor.fromStorage(out.sum, backend, x.shape), (g) => [g, g]);
  const y = recordRmsNorm(backend, sum, weight, sum, wc, out.y, out.rstd);
  releaseContiguousInput(xc, x);
  releaseContiguousInput(rc, residual);
  releaseContiguousInput(wc, weight);
  return { sum, y };
}
