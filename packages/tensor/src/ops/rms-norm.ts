import type { Backend, Storage } from '../backend/backend.js';
import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { contiguous, contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';

/**
 * RMSNorm (LLaMA): y = x / sqrt(mean(x², last axis) + eps) · weight, x [..., D], weight [D]. Fused forward and
 * backward kernels.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const backend = backendOf('rmsNorm', x, weight);
  requireDtype('rmsNorm', x, 'float32', 'x');
  requireDtype('rmsNorm', weight, 'float32', 'weight');
  const D = x.shape[x.shape.length - 1];
  if (D === undefined || weight.shape.length !== 1 || weight.shape[0] !== D) {
    throw new Error(`rmsNorm: weight ${fmt(weight.shape)} must be [D] for x ${fmt(x.shape)} [..., D]`);
  }
  const rows = D === 0 ? 0 : x.size / D;
  const xc = contiguousInput(x);
  const wc = contiguousInput(weight);
  const x2 = { storage: xc.storage, shape: [rows, D], strides: [D, 1], offset: xc.offset };
  const { y, rstd } = backend.rmsNorm(x2, wc, eps);
  const result = recordRmsNorm(backend, x, weight, xc, wc, y, rstd);
  releaseContiguousInput(xc, x);
  releaseContiguousInput(wc, weight);
  return result;
}

/**
 * Wraps the outputs y, rstd of a fused rmsNorm forward of x (`xc`, `wc`: the contiguous x and weight it read) as a
 * tensor with rmsNorm's backward rule (shared by rmsNorm and addRmsNorm).
 */
export function recordRmsNorm(
  backend: Backend,
  x: Tensor,
  weight: Tensor,
  xc: Tensor,
  wc: Tensor,
  y: Storage,
  rstd: Storage,
): Tensor {
  const D = weight.shape[0]!;
  const rows = D === 0 ? 0 : x.size / D;
  const out = Tensor.fromStorage(y, backend, x.shape);
  const rstdT = Tensor.fromStorage(rstd, backend, [rows]);
  const result = record(
    'rmsNorm',
    [x, weight],
    out,
    (g, [xs, ws, rs]) => {
      const gc = contiguous(g);
      const dy = { storage: gc.storage, shape: [rows, D], strides: [D, 1], offset: gc.offset };
      const xv = { storage: xs!.storage, shape: [rows, D], strides: [D, 1], offset: xs!.offset };
      const { dx, dweight } = backend.rmsNormBackward(dy, xv, ws!, rs!);
      return [Tensor.fromStorage(dx, backend, xs!.shape), Tensor.fromStorage(dweight, backend, [D])];
    },
    [xc, wc, rstdT],
  );
  rstdT.dispose();
  return result;
}
