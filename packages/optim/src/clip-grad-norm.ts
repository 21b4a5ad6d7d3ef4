/**
 * Global gradient-norm clipping computed on the device: no readback, so a training step never waits for the GPU.
 *
 * @module
 */

import { keep, type Tensor, tidy } from '@andes/tensor';

/** Result of {@link clipGradNorm}: both scalars live on the device; read them only when you log. */
export interface ClipResult {
  /** Global L2 norm of all gradients (times `gradScale` when given), a scalar tensor. */
  norm: Tensor;
  /** Clip coefficient min(1, maxNorm / (norm + 1e-6)), a scalar tensor: multiply gradients by it. */
  scale: Tensor;
}

/**
 * Global L2 norm of the gradients of `params` (params without a gradient are skipped): sqrt(Σ‖g‖²), a scalar tensor.
 * `gradScale` (a number or scalar tensor) multiplies every gradient first (e.g. 1/N for N accumulated micro-batches).
 *
 * @throws Error when no parameter has a gradient.
 */
export function gradNorm(params: Iterable<Tensor>, gradScale?: Tensor | number): Tensor {
  return tidy(() => {
    let sumSquares: Tensor | null = null;
    for (const p of params) {
      if (p.grad === null) continue;
      const s = p.grad.square().sum();
      sumSquares = sumSquares === null ? s : sumSquares.add(s);
    }
    if (sumSquares === null) throw new Error('gradNorm: no parameter has a gradient (call backward() first)');
    const norm = sumSquares.sqrt();
    if (gradScale === undefined) return norm;
    return typeof gradScale === 'number' ? norm.mul(Math.abs(gradScale)) : norm.mul(gradScale.abs());
  });
}

/**
 * The clip coefficient for global-norm clipping to `maxNorm` (PyTorch's `clip_grad_norm_` rule,
 * min(1, maxNorm / (norm + 1e-6))), without touching the gradients: pass `scale` to the optimizer as its
 * `gradScale`, so one fused update applies it. With `gradScale`, `scale` is the product gradScale·clip (the factor for
 * the raw gradients). Both tensors are exempt from `tidy`: the caller owns them and disposes them.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, gradScale?: Tensor | number): ClipResult {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = keep(gradNorm(params, gradScale));
  const scale = tidy(() => {
    const clip = norm.add(1e-6).pow(-1).mul(maxNorm).minimum(1);
    return keep(gradScale === undefined ? clip : clip.mul(gradScale));
  });
  return { norm, scale };
}
