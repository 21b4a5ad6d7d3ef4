import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { contiguous, contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';
import { mul } from './mul.js';
import { silu } from './silu.js';

/**
 * SwiGLU's gating, silu(gate) · up, for gate and up of one shape (LLaMA's MLP: `[..., hidden]`). Fused into one
 * kernel forward and one backward where the backend has it (WebGPU), else composed from silu and mul.
 *
 * Backward with s = sigmoid(gate): dgate = dy · up · s · (1 + gate · (1 − s)), dup = dy · gate · s.
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  const backend = backendOf('swiglu', gate, up);
  requireDtype('swiglu', gate, 'float32', 'gate');
  requireDtype('swiglu', up, 'float32', 'up');
  if (gate.shape.join() !== up.shape.join()) {
    throw new Error(`swiglu: gate ${fmt(gate.shape)} and up ${fmt(up.shape)} must have the same shape`);
  }
  if (!backend.swiglu || !backend.swigluBackward) return mul(silu(gate), up);
  const n = gate.size;
  const flat = (t: Tensor) => ({ storage: t.storage, shape: [n], strides: [1], offset: t.offset });
  const gc = contiguousInput(gate);
  const uc = contiguousInput(up);
  const out = Tensor.fromStorage(backend.swiglu(flat(gc), flat(uc)), backend, gate.shape);
  const result = record(
    'swiglu',
    [gate, up],
    out,
    (g, [gs, us]) => {
      const dyc = contiguous(g);
      const { dgate, dup } = backend.swigluBackward!(flat(dyc), flat(gs!), flat(us!));
      dyc.dispose();
      return [Tensor.fromStorage(dgate, backend, gs!.shape), Tensor.fromStorage(dup, backend, us!.shape)];
    },
    [gc, uc],
  );
  releaseContiguousInput(gc, gate);
  releaseContiguousInput(uc, up);
  return result;
}
