/**
 * Rotary position embedding (Su et al. 2021) on the fused `rope` kernel.
 *
 * @module
 */

import { rope, type Tensor, tensor } from '@andes/tensor';
import type { RopeLayout } from './config.js';

/**
 * Rotates query/key heads by position-dependent angles `p · theta^(-2i/headDim)`. Has no parameters, so it is not a
 * `Module` and adds nothing to the state dict (Hugging Face's `inv_freq` buffer is recomputed, not stored).
 */
export class RotaryEmbedding {
  /**
   * @param theta - frequency base (10000 in LLaMA)
   * @param style - `'half'` (Hugging Face, pairs i and i + d/2) or `'interleaved'` (Meta/GGUF, pairs 2i and 2i+1)
   */
  constructor(
    readonly theta: number,
    readonly style: RopeLayout,
  ) {}

  /** `x [batch, seq, heads, headDim]`, `positions` int32 `[seq]` or `[batch, seq]` → rotated x, same shape. */
  apply(x: Tensor, positions: Tensor): Tensor {
    return rope(x, positions, { theta: this.theta, style: this.style });
  }
}

/** Positions `start, start+1, …, start+length-1` as an int32 tensor `[length]`. */
export function positionRange(start: number, length: number): Tensor {
  const ids = new Int32Array(length);
  for (let i = 0; i < length; i++) ids[i] = start + i;
  return tensor(ids, [length], { dtype: 'int32' });
}
