/**
 * The autograd tape. An op whose inputs require grad (and that runs outside `noGrad`) records a {@link TapeNode}:
 * edges to its inputs' nodes (or leaf tensors), the tensors its backward rule needs, and the rule itself, written in
 * terms of ops so it runs on every backend. Nodes are reference counted by the tensors and nodes that point at them,
 * so disposing the outputs of an unused graph frees its saved tensors too.
 *
 * The tape knows no ops: every op imports it to record, so anything here that called an op would close an import
 * cycle. Walking the tape backwards (which adds and reduces gradients) lives one layer up, in backward.ts.
 *
 * The tape does not name Tensor either: a Tensor holds its node, so tensor.ts imports this file, and a reference back
 * (even a type-only one) would close a cycle. The tape works over any `T` that is a {@link TapeTensor}; Tensor is
 * one, and tensor.ts names the Tensor versions (`GradNode`, `Edge`, `BackwardRule`) that ops and users see.
 *
 * @module
 */
import { isGradEnabled } from './grad-mode.js';

/** What the tape needs of a tensor type `T` (Tensor implements `TapeTensor<Tensor>`). */
export interface TapeTensor<T extends TapeTensor<T>> {
  /** Size of each dimension (the input shapes a node keeps for the backward pass). */
  readonly shape: readonly number[];
  /** True when gradients flow to or through the tensor. */
  readonly requiresGrad: boolean;
  /** The node that produced the tensor, if recorded. */
  readonly gradNode: TapeNode<T> | null;
  /** The storage's write counter, so backward can tell that a saved tensor was overwritten in place. */
  readonly storageRef: { readonly version: number };
  /** A detached, untracked tensor on the same storage (how a node keeps what its rule reads). */
  alias(): T;
  /** Makes the tensor the output of `node` (taking a reference to it). */
  attachGradNode(node: TapeNode<T>): void;
  /** Frees the tensor. */
  dispose(): void;
}

/**
 * A backward rule: the gradient of the op's output → one gradient (or null) per input, given the saved tensors and
 * which inputs need a gradient at all (so rules can skip work, e.g. the data input of the first matmul). A rule may
 * return a gradient in the output's broadcast shape: the backward pass sums it down to the input's shape, so
 * broadcasting ops (add, mul, where, expand, batched matmul, …) need no reduction of their own.
 */
export type TapeRule<T> = (
  grad: T,
  saved: readonly T[],
  needsGrad: readonly boolean[],
) => readonly (T | null | undefined)[];

/** Where an input's gradient goes: the input's own node, or the leaf tensor that accumulates it. */
export type TapeEdge<T extends TapeTensor<T>> = { node: TapeNode<T>; leaf: null } | { node: null; leaf: T } | null;

/** One recorded op on the tape, over tensors of type `T` (internal). */
export class TapeNode<T extends TapeTensor<T>> {
  /** Tensors and child nodes that point at this node. */
  refs = 0;
  /** True once the saved tensors are freed (after backward, or when nothing points here any more). */
  released = false;
  constructor(
    readonly op: string,
    readonly edges: readonly TapeEdge<T>[],
    readonly inputShapes: readonly (readonly number[])[],
    public saved: T[],
    readonly rule: TapeRule<T>,
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
export function releaseNode<T extends TapeTensor<T>>(node: TapeNode<T>): void {
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
export function record<T extends TapeTensor<T>>(
  op: string,
  inputs: readonly T[],
  out: T,
  rule: TapeRule<T>,
  saved: readonly T[] = [],
  force = false,
): T {
  const anyInput = inputs.some((t) => t.requiresGrad);
  if (!anyInput && !force) return out;
  if (anyInput) gradProbe.sawRequiresGrad = true;
  if (!isGradEnabled()) return out;
  const edges: TapeEdge<T>[] = inputs.map((t) => {
    if (t.gradNode) {
      t.gradNode.refs++;
      return { node: t.gradNode, leaf: null };
    }
    return t.requiresGrad ? { node: null, leaf: t } : null;
  });
  const node = new TapeNode(
    op,
    edges,
    inputs.map((t) => t.shape),
    saved.map((t) => t.alias()),
    rule,
  );
  out.attachGradNode(node);
  return out;
}
