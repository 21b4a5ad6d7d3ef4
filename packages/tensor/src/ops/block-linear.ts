/**
 * `linear` for a {@link BlockWeight}: x [..., in] · Wᵀ (+ bias) with W decoded inside the kernel, float32 result.
 *
 * @module
 */
import { isGradEnabled } from '../grad-mode.js';
import type { BlockWeight } from '../quant/block-weight.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { add } from './add.js';
import { contiguous } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';

/**
 * `x [..., in] · weightᵀ (+ bias [out])` → `[..., out]` for a half-float or block-quantized weight `[out, in]`.
 * Inference only: x may not require a gradient while gradients are recorded (train in float32).
 *
 * ```ts
 * const w = BlockWeight.quantize('Q4_0', [256, 64], values); // values: Float32Array of 256·64
 * const y = blockLinear(x, w); // x [batch, seq, 64] → y [batch, seq, 256]
 * ```
 */
export function blockLinear(x: Tensor, weight: BlockWeight, bias: Tensor | null = null): Tensor {
  const backend = backendOf('blockLinear', x, ...(bias ? [bias] : []));
  requireDtype('blockLinear', x, 'float32', 'x');
  const [out, inFeatures] = weight.shape;
  const storage = weight.storage;
  if (weight.backend !== backend) {
    throw new Error(
      `blockLinear: weight ${weight.type} ${fmt(weight.shape)} is on backend '${weight.backend.name}', x ${fmt(x.shape)} on '${backend.name}'`,
    );
  }
  if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== inFeatures) {
    throw new Error(
      `blockLinear: input ${fmt(x.shape)} does not end in the in-features of weight ${weight.type} ${fmt(weight.shape)}`,
    );
  }
  if (x.requiresGrad && isGradEnabled()) {
    throw new Error(
      `blockLinear: input ${fmt(x.shape)} requires a gradient, but ${weight.type} weights are inference-only (use noGrad, or float32 weights to train)`,
    );
  }
  if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== out)) {
    throw new Error(`blockLinear: bias ${fmt(bias.shape)} does not match the out-features of ${fmt(weight.shape)}`);
  }
  const lead = x.shape.slice(0, -1);
  const xc = contiguous(x);
  const y = Tensor.fromStorage(backend.blockMatmul(xc, storage, weight.type, out, inFeatures), backend, [...lead, out]);
  xc.dispose();
  if (bias === null) return y;
  const yb = add(y, bias);
  y.dispose();
  return yb;
}
