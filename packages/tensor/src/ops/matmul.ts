import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { backendOfAnyDtype, requireFloat } from './inputs.js';
import { matmulRows } from './linear.js';
import { matmulNd } from './matmul-nd.js';
import { squeeze } from './squeeze.js';
import { unsqueeze } from './unsqueeze.js';

/**
 * Matrix product with torch.matmul semantics: a [..., M, K] @ b [..., K, N] → [..., M, N] with broadcast batch axes;
 * a 1-D a is a row vector [K] and a 1-D b a column vector [K] (their axis is removed from the result). Either operand may be
 * float16 or bfloat16 (decoded in the kernel; products and sums in float32); the result is float32. Transposed views
 * are read in place.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  backendOfAnyDtype('matmul', a, b);
  requireFloat('matmul', a, 'a');
  requireFloat('matmul', b, 'b');
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(`matmul: operands must be at least 1-D, got ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  }
  // [..., M, K] @ [K, N] (a linear layer) is one [(…·M), K] @ [K, N] product.
  if (a.shape.length > 2 && b.shape.length === 2) return matmulRows('matmul', a, b);
  if (a.shape.length >= 2 && b.shape.length >= 2) return matmulNd(a, b);
  return tidy(() => {
    const a2 = a.shape.length === 1 ? unsqueeze(a, 0) : a;
    const b2 = b.shape.length === 1 ? unsqueeze(b, -1) : b;
    let y = matmulNd(a2, b2);
    if (a.shape.length === 1) y = squeeze(y, -2);
    if (b.shape.length === 1) y = squeeze(y, -1);
    return y;
  });
}
