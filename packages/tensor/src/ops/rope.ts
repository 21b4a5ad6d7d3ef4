import type { RopeStyle } from '../backend/backend.js';
import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { contiguous, contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';

/** Options of {@link rope}. */
export interface RopeOptions {
  /** Base of the rotary frequencies. Default 10000. */
  theta?: number;
  /**
   * 'half' (default; Hugging Face LLaMA layout: pairs (i, i + Dh/2)) or 'interleaved' (Meta/GGUF: pairs (2i, 2i+1)).
   */
  style?: RopeStyle;
}

/**
 * Rotary position embedding of x [B, T, H, Dh] at int32 positions [T] or [B, T]: pair i is rotated by the angle
 * p · theta^(−2i/Dh). Fused; the backward is the inverse rotation.
 */
export function rope(x: Tensor, positions: Tensor, options: RopeOptions = {}): Tensor {
  const { theta = 10000, style = 'half' } = options;
  const backend = backendOf('rope', x, positions);
  requireDtype('rope', x, 'float32', 'x');
  requireDtype('rope', positions, 'int32', 'positions');
  const [B, T, , Dh] = x.shape;
  const posOk =
    (positions.shape.length === 1 && positions.shape[0] === T) ||
    (positions.shape.length === 2 && positions.shape[0] === B && positions.shape[1] === T);
  if (x.shape.length !== 4 || Dh! % 2 !== 0 || !posOk) {
    throw new Error(
      `rope: x must be [B, T, H, Dh] with even Dh and positions [T] or [B, T]; got x ${fmt(x.shape)}, positions ${fmt(positions.shape)}`,
    );
  }
  const xc = contiguousInput(x);
  const pc = contiguousInput(positions);
  const y = Tensor.fromStorage(backend.rope(xc, pc, theta, style, false), backend, x.shape);
  const out = record(
    'rope',
    [x],
    y,
    (g, [p]) => {
      const gc = contiguous(g);
      return [Tensor.fromStorage(backend.rope(gc, p!, theta, style, true), backend, gc.shape)];
    },
    [pc],
  );
  releaseContiguousInput(xc, x);
  releaseContiguousInput(pc, positions);
  return out;
}
