/**
 * Language-model loss on the fused cross-entropy kernel.
 *
 * @module
 */

import { crossEntropy, type Tensor } from '@andes/tensor';

/**
 * Mean cross-entropy (nats per counted token) of `logits [..., V]` against int32 `targets [...]`; targets equal to
 * `ignoreIndex` are skipped. Returns a scalar tensor.
 */
export function crossEntropyLoss(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
  const v = logits.shape[logits.shape.length - 1] as number;
  const n = logits.size / v;
  if (targets.size !== n || targets.dtype !== 'int32') {
    throw new Error(
      `crossEntropyLoss: targets must be int32 with ${n} elements for logits [${logits.shape.join(', ')}], got ${targets.dtype} [${targets.shape.join(', ')}]`,
    );
  }
  return crossEntropy(logits.reshape([n, v]), targets.reshape([n]), { ignoreIndex, reduction: 'mean' });
}
