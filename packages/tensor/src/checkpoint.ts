/**
 * Activation checkpointing: run a segment without keeping its activations and recompute them during backward.
 *
 * @module
 */

import { enableGrad, isGradEnabled, noGrad } from './grad-mode.js';
import { getRandomState, setRandomState } from './random/generator.js';
import { gradProbe, record } from './tape.js';
import type { Tensor } from './tensor.js';
import { tidy } from './tidy.js';

/**
 * Calls `fn(...inputs)` without recording its internals; the backward pass re-runs fn (with the same random stream,
 * so dropout masks repeat) and backpropagates through the recomputed graph. Gradients equal those without
 * checkpointing; memory falls from all of fn's activations to its inputs and output: every tensor fn creates other
 * than its result is disposed as soon as fn returns (and the recomputed ones once backward has used them), so fn
 * needs no `tidy` of its own. Parameters used inside fn get their gradients as usual. fn must be synchronous, deterministic given its
 * inputs, and return one tensor.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  if (!isGradEnabled()) return tidy(() => fn(...inputs));
  const rng = getRandomState();
  const probeBefore = gradProbe.sawRequiresGrad;
  gradProbe.sawRequiresGrad = false;
  // tidy frees fn's intermediates now: nothing will be saved for backward, which recomputes them.
  const result = tidy(() => noGrad(() => fn(...inputs)));
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
      // tidy, not y.dispose(): fn may return one of the leaves or a parameter it captured, which must survive.
      return tidy(() => {
        const leaves = saved.map((t, i) => t.detach().requiresGrad_(wanted[i]!));
        enableGrad(() => fn(...leaves).backward(g));
        return leaves.map((l) => {
          const grad = l.grad;
          l.grad = null;
          return grad;
        });
      });
    } finally {
      setRandomState(after);
    }
  };
  const wanted = inputs.map((t) => t.requiresGrad && t.dtype === 'float32');
  return record('checkpoint', inputs, out, rule, inputs, true);
}
