/**
 * Products against a 2-D weight with the input's leading axes folded into rows: the one home of that fold for
 * `matmul([..., M, K], [K, N])`, the `Linear` layer and the tied output projection of a language model.
 *
 * @module
 */
import { fmt, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add } from './add.js';
import { backendOfAnyDtype, requireDtype, requireFloat } from './inputs.js';
import { matmulNd } from './matmul-nd.js';
import { reshape } from './reshape.js';
import { transpose } from './transpose.js';

/**
 * x [..., K] @ w [K, N] (+ bias [N]) → [..., N] as one [rows, K] @ [K, N] product over x's leading axes folded into
 * rows (a 1-D x is one row). Besides one big GEMM in the forward, the weight's gradient is then a single xᵀ·g instead
 * of a per-batch [..., K, N] stack summed afterwards. `op` names the caller in errors; no dtype checks (callers do).
 */
export function matmulRows(op: string, x: Tensor, w: Tensor, bias: Tensor | null = null): Tensor {
  const K = x.shape[x.shape.length - 1]!;
  if (w.shape.length !== 2 || w.shape[0] !== K) {
    throw new Error(`${op}: inner dimensions differ, ${fmt(x.shape)} @ ${fmt(w.shape)} (${K} vs ${w.shape[0]})`);
  }
  if (x.shape.length === 2 && bias === null) return matmulNd(x, w);
  // Intermediates are disposed by hand rather than by a tidy scope: this runs for every projection of a decode step.
  const lead = x.shape.slice(0, -1);
  const rows = x.shape.length === 2 ? x : reshape(x, [sizeOf(lead), K]);
  let product: Tensor;
  try {
    product = matmulNd(rows, w);
  } finally {
    if (rows !== x) rows.dispose();
  }
  let y = product;
  try {
    if (bias !== null) y = add(product, bias);
    return x.shape.length === 2 ? y : reshape(y, [...lead, w.shape[1]!]);
  } finally {
    if (y !== product) product.dispose();
    if (x.shape.length !== 2) y.dispose();
  }
}

/**
 * A fully connected layer's product: `x [..., in] · weightᵀ (+ bias)` → `[..., out]`, with `weight [out, in]` in
 * PyTorch's layout (read through a transposed view, no copy) and an optional `bias [out]` (float32). x and weight may be float16 or bfloat16 (a half weight is read
 * as stored, products and sums in float32); the result is float32.
 *
 * ```ts
 * const y = linear(x, weight); // x [batch, seq, 64], weight [256, 64] → y [batch, seq, 256]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  backendOfAnyDtype('linear', x, weight, ...(bias ? [bias] : []));
  requireFloat('linear', x, 'x');
  requireFloat('linear', weight, 'weight');
  if (x.shape.length === 0 || weight.shape.length !== 2 || x.shape[x.shape.length - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${fmt(x.shape)} does not end in the in-features of weight ${fmt(weight.shape)}`);
  }
  if (bias !== null) {
    requireDtype('linear', bias, 'float32', 'bias');
    if (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0]) {
      throw new Error(`linear: bias ${fmt(bias.shape)} does not match the out-features of weight ${fmt(weight.shape)}`);
    }
  }
  const weightT = transpose(weight, 0, 1);
  try {
    return matmulRows('linear', x, weightT, bias);
  } finally {
    weightT.dispose();
  }
}
