import { normAxis } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { contiguous } from './contiguous.js';
import { exp } from './exp.js';
import { backendOf, requireDtype } from './inputs.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import { sum } from './sum.js';
import { transpose } from './transpose.js';

/** Fused (log-)softmax over the last axis of a tensor, recorded with its backward (shared with logSoftmax). */
export function softmaxLastAxis(x: Tensor, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const backend = backendOf(op, x);
  requireDtype(op, x, 'float32');
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  const xc = contiguous(x);
  const y = Tensor.fromStorage(backend.softmax(xc, rows, cols, log), backend, x.shape);
  xc.dispose();
  return record(
    op,
    [x],
    y,
    (g, [y]) =>
      log
        ? // d logSoftmax: g − softmax·Σg
          [sub(g, mul(exp(y!), sum(g, -1, true)))]
        : // d softmax: y·(g − Σ g·y)
          [mul(y!, sub(g, sum(mul(g, y!), -1, true)))],
    [y],
  );
}

/** Softmax along `axis` (default last): exp(x − max) / Σ exp(x − max). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const rank = Math.max(1, x.shape.length);
  const a = normAxis('softmax', axis, rank, x.shape);
  if (x.shape.length === 0 || a === rank - 1) return softmaxLastAxis(x, false);
  return tidy(() => transpose(softmaxLastAxis(transpose(x, a, -1), false), a, -1));
}
