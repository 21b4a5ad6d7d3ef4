/**
 * Reverse-mode autodiff. An op whose inputs require grad (and that runs outside `noGrad`) records a {@link GradNode}:
 * edges to its inputs' nodes (or leaf tensors), the tensors its backward rule needs, and the rule itself, written in
 * terms of ops so it runs on every backend. Nodes are reference counted by the tensors and nodes that point at them,
 * so disposing the outputs of an unused graph frees its saved tensors too.
 *
 * @module
 */
import { isGradEnabled, noGrad } from './grad-mode.js';
import { add } from './ops/add.js';
import { clone } from './ops/clone.js';
import { fmt, sameShape } from './shape.js';
import type { Tensor } from './tensor.js';
import { tidy } from './tidy.js';

/**
 * A backward rule: the gradient of the op's output → one gradient (or null) per input, given the saved tensors and
 * which inputs need a gradient at all (so rules can skip work, e.g. the data input of the first matmul).
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

/** Nodes reachable from `root`, ordered so every node comes before the nodes of its inputs. */
function topoOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  const stack: [GradNode, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [n, done] = stack.pop()!;
    if (done) {
      order.push(n);
      continue;
    }
    if (visited.has(n)) continue;
    visited.add(n);
    stack.push([n, true]);
    for (const e of n.edges) if (e?.node && !visited.has(e.node)) stack.push([e.node, false]);
  }
  return order.reverse();
}

/** Adds `g` into a leaf's `.grad`; the leaf always ends up owning a contiguous float32 storage of its own. */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  if (leaf.grad) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    g.dispose();
    leaf.setGradOwned(sum);
  } else if (g.ownsWholeStorage()) {
    leaf.setGradOwned(g);
  } else {
    leaf.setGradOwned(clone(g));
    g.dispose();
  }
}

/**
 * Backpropagates from `root` (a scalar unless `seed`, the gradient of the root, is given), accumulating into the
 * `.grad` of every leaf that requires grad. Frees each node's saved tensors as it goes: a second backward through the
 * same graph throws.
 */
export function runBackward(root: Tensor, seed?: Tensor): void {
  root.assertLive('backward');
  if (!root.requiresGrad) {
    throw new Error(`backward: tensor ${fmt(root.shape)} does not require grad (no input had requiresGrad set)`);
  }
  if (seed && !sameShape(seed.shape, root.shape)) {
    throw new Error(`backward: gradient shape ${fmt(seed.shape)} does not match tensor shape ${fmt(root.shape)}`);
  }
  if (!seed && root.size !== 1) {
    throw new Error(`backward: tensor ${fmt(root.shape)} is not a scalar; pass the gradient explicitly`);
  }
  noGrad(() => {
    const g0 = seed ? seed.alias() : root.onesLikeUntracked();
    const rootNode = root.gradNode;
    if (!rootNode) {
      accumulateLeaf(root, g0);
      return;
    }
    const grads = new Map<GradNode, Tensor>([[rootNode, g0]]);
    for (const node of topoOrder(rootNode)) {
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      if (node.released) {
        g.dispose();
        throw new Error(`backward: the graph through '${node.op}' was already freed (backward called twice?)`);
      }
      node.saved.forEach((t, i) => {
        if (t.storageRef.version !== node.savedVersions[i]) {
          g.dispose();
          throw new Error(
            `backward of '${node.op}': saved tensor ${fmt(t.shape)} was modified in place (assign/adamwStep) after the ` +
              `forward pass; gradients would be wrong`,
          );
        }
      });
      const needs = node.edges.map((e) => e !== null);
      const inputGrads = tidy(() => [...node.rule(g, node.saved, needs)]);
      node.releaseSaved();
      // Rules may return their incoming gradient or one tensor twice: give each consumer its own handle. Then drop
      // the incoming gradient first, so a leaf receiving a view of it can own that storage without a copy.
      const seen = new Set<Tensor>();
      const owned = inputGrads.map((gi) => {
        if (!gi) return null;
        const handle = gi === g || seen.has(gi) ? gi.alias() : gi;
        seen.add(gi);
        return handle;
      });
      g.dispose();
      for (let i = 0; i < node.edges.length; i++) {
        const gi = owned[i];
        const edge = node.edges[i];
        if (!gi) continue;
        if (!edge) {
          gi.dispose();
          continue;
        }
        if (!sameShape(gi.shape, node.inputShapes[i]!)) {
          throw new Error(
            `backward of '${node.op}': gradient for input ${i} has shape ${fmt(gi.shape)}, expected ${fmt(node.inputShapes[i]!)}`,
          );
        }
        if (edge.node) {
          const prev = grads.get(edge.node);
          if (prev) {
            grads.set(edge.node, add(prev, gi));
            prev.dispose();
            gi.dispose();
          } else {
            grads.set(edge.node, gi);
          }
        } else {
          accumulateLeaf(edge.leaf, gi);
        }
      }
    }
    for (const t of grads.values()) t.dispose();
  });
}

/** Disposes and clears the `.grad` of every tensor given (e.g. a model's parameters before the next step). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.zeroGrad();
}
