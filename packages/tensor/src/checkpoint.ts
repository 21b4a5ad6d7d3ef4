/**
 * Activation checkpointing: run a segment without keeping its activations and recompute them during backward.
 *
 * @module
 */
import { gradProbe, record } from './autograd.js';
import { enableGrad, isGradEnabled, noGrad } from './grad_mode.js';
import { getRandomState, setRandomState } from './random/generator.js';
import type { Tensor } from './tensor.js';

/**
 * Calls `fn(...inputs)` without recording its internals; the backward pass re-runs fn (with the same random stream,
 * so dropout masks repeat) and backpropagates through the recomputed graph. Gradients equal those without
 * checkpointing; memory falls from all of fn's activations to its inputs and output. Parameters used inside fn get
 * their gradients as usual. fn must be deterministic given its inputs and return one tensor.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(...inputs);
  const rng = getRandomState();
  const probeBefore = gradProbe.sawRequiresGrad;
  gradProbe.sawRequiresGrad = false;
  const result = noGrad(() => fn(...inputs));
  // fn may hand back one of its inputs or a parameter (a leaf): record on a fresh view, never on the leaf itself.
  const out = result.requiresGrad ? result.detach() : result;
  // Did fn touch anything that requires grad (its inputs or captured parameters)?
  const needsGraph = gradProbe.sawRequiresGrad || inputs.some((t) => t.requiresGrad);
  gradProbe.sawRequiresGrad = probeBefore || gradProbe.sawRequiresGrad;
  if (!needsGraph) return out;
  // A graph of one node whose rule recomputes fn; forced, because only parameters inside fn may require grad.
  const rule = (g: Tensor, saved: readonly Tensor[]) => {
    const after = getRandomState();
    setRandomState(rng);
    try {
      const leaves = saved.map((t, i) => t.detach().requiresGrad_(wanted[i]!));
      enableGrad(() => {
        const y = fn(...leaves);
        y.backward(g);
        y.dispose();
      });
      return leaves.map((l) => {
        const grad = l.grad;
        l.grad = null;
        l.dispose();
        return grad;
      });
    } finally {
      setRandomState(after);
    }
  };
  const wanted = inputs.map((t) => t.requiresGrad && t.dtype === 'float32');
  return record('checkpoint', inputs, out, rule, inputs, true);
}
