import { fmt, sameShape } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { checkIds, hostInts } from './check-ids.js';
import { ne } from './compare.js';
import { contiguous } from './contiguous.js';
import { div } from './div.js';
import { backendOf, requireDtype } from './inputs.js';
import { maximum } from './maximum.js';
import { reshape } from './reshape.js';
import { sum } from './sum.js';
import { toType } from './to-type.js';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Targets equal to this contribute no loss and no gradient. Default −100 (as PyTorch). */
  ignoreIndex?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (per-position loss, shape of targets). */
  reduction?: 'mean' | 'sum' | 'none';
}

/** The fused per-row loss [N] of logits [N, V] (contiguous) and targets int32 [N]. */
function crossEntropyRows(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const backend = logits.backend;
  const [N, V] = logits.shape as [number, number];
  const { loss, lse } = backend.crossEntropy(logits, targets, ignoreIndex);
  const y = Tensor.fromStorage(loss, backend, [N]);
  const lseT = Tensor.fromStorage(lse, backend, [N]);
  const out = record(
    'crossEntropy',
    [logits],
    y,
    (g, [logits, targets, lse]) => {
      const gc = contiguous(g);
      const d = backend.crossEntropyBackward(logits!, targets!, lse!, gc, ignoreIndex);
      return [Tensor.fromStorage(d, backend, [N, V])];
    },
    [logits, targets, lseT],
  );
  lseT.dispose();
  return out;
}

/**
 * Cross-entropy of logits [..., V] (float32) against int32 class targets [...] (the logits' shape without the last
 * axis), fused: the logits' softmax is never materialised in the forward. Targets outside [0, V) other than
 * `ignoreIndex` throw. 'mean' divides by the number of non-ignored targets (0 loss when all are ignored).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  backendOf('crossEntropy', logits, targets);
  requireDtype('crossEntropy', logits, 'float32', 'logits');
  requireDtype('crossEntropy', targets, 'int32', 'targets');
  if (logits.shape.length === 0 || !sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new Error(
      `crossEntropy: logits ${fmt(logits.shape)} need targets of shape ${fmt(logits.shape.slice(0, -1))}, got ${fmt(targets.shape)}`,
    );
  }
  const V = logits.shape[logits.shape.length - 1]!;
  checkIds('crossEntropy', targets, V, 'target', ignoreIndex);
  const N = targets.size;
  return tidy(() => {
    const l2 = contiguous(reshape(logits, [N, V]));
    const t1 = contiguous(reshape(targets, [N]));
    const rows = crossEntropyRows(l2, t1, ignoreIndex);
    if (reduction === 'none') return reshape(rows, targets.shape);
    if (reduction === 'sum') return sum(rows);
    // The divisor is the number of non-ignored targets: counted on the host when the ids are known there (no
    // kernels), else on the device.
    const known = hostInts(targets);
    if (known) {
      let count = 0;
      for (let i = 0; i < known.length; i++) if (known[i] !== ignoreIndex) count++;
      return div(sum(rows), Math.max(1, count));
    }
    return div(sum(rows), maximum(sum(toType(ne(t1, ignoreIndex), 'float32')), 1));
  });
}
