/**
 * The autograd tape. An op whose inputs require grad (and that runs outside `noGrad`) records a {@link GradNode}:
 * edges to its inputs' nodes (or leaf tensors), the tensors its backward rule needs, and the rule itself, written in
 * terms of ops so it runs on every backend. Nodes are reference counted by the tensors and nodes that point at them,
 * so disposing the outputs of an unused graph frees its saved tensors too.
 *
 * The tape knows no ops: every op imports it to record, so anything here that called an op would close an import
 * cycle. Walking the tape backwards (which adds and reduces gradients) lives one layer up, in backward.ts.
 *
 * @module
 */
import { isGradEnabled } from './grad-mode.js';
import type { Tensor } from './tensor.js';

/**
 * A backward rule: the gradient of the op's output → one gradient (or null) per input, given the saved tensors and
 * which inputs need a gradient at all (so rules can skip work, e.g. the data input of the first matmul). A rule may
 * return a gradient in the output's broadcast shape: the backward pass sums it down to the input's shape, so
 * broadcasting ops (add, mul, where, expand, batched matmul, …) need no reduction of their own.
 */
export type BackwardRule = (
  grad: Tensor,
  saved: readonly Tensor[],
  needsGrad: readonly boolean[],
) => readonly (Tensor | null | undefined)[];

/** Where an input's gradient goes: the input's own node, or the leaf tensor that accumulates it. */
export type Edge = { node: GradNode; leaf: null } | { node: null; leaf: Tensor } | null;

/** One recorded op on the tape (internal). */
export class GradNode {
  /** Tensors and child nodes that point at this node. */
  refs = 0;
  /** True once the saved tensors are freed (after backward, or when nothing points here any more). */
  released = false;
  constructor(
    readonly op: string,
    readonly edges: readonly Edge[],
    readonly inputShapes: readonly (readonly number[])[],
    public saved: Tensor[],
    readonly rule: BackwardRule,
    /** Storage versions of `saved` when recorded; a mismatch at backward means an in-place write clobbered them. */
    readonly savedVersions: readonly number[] = saved.map((t) => t.storageRef.version),
  ) {}

  releaseSaved(): void {
    if (this.released) return;
    this.released = true;
    for (const t of this.saved) t.dispose();
    this.saved = [];
  }
}

/** Drops one reference to a node; at zero frees its saved tensors and drops its references to its inputs' nodes. */
export function releaseNode(node: GradNode): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (--n.refs > 0) continue;
    n.releaseSaved();
    for (const e of n.edges) if (e?.node) stack.push(e.node);
  }
}

/** Set whenever an op sees an input that requires grad, recording or not (checkpoint uses it as a probe). */
export const gradProbe = { sawRequiresGrad: false };

/**
 * Records `out = op(inputs)` on the tape when an input requires grad and grad mode is on; otherwise returns `out`
 * untouched. `saved` are the tensors the rule reads (kept alive as detached aliases until the node is released).
 * `force` records even when no input requires grad (checkpoint: parameters inside the segment do).
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  out: Tensor,
  rule: BackwardRule,
  saved: readonly Tensor[] = [],
  force = false,
): Tensor {
  const anyInput = inputs.some((t) => t.requiresGrad);
  if (!anyInput && !force) return out;
  if (anyInput) gradProbe.sawRequiresGrad = true;
  if (!isGradEnabled()) return out;
  const edges: Edge[] = inputs.map((t) => {
    if (t.gradNode) {
      t.gradNode.refs++;
      return { node: t.gradNode, leaf: null };
    }
    return t.requiresGrad ? { node: null, leaf: t } : null;
  });
  const node = new GradNode(
    op,
    edges,
    inputs.map((t) => t.shape),
    saved.map((t) => t.alias()),
    rule,
  );
  out.attachGradNode(node);
  return out;
}
