/**
 * The backward pass: walks the tape (tape.ts) from a root tensor in reverse topological order, runs each node's rule,
 * sums a gradient that arrives in a broadcast shape down to its input's shape, adds the gradients that meet at a node,
 * and accumulates the leaves' `.grad`. It sits above the ops it calls (add, sum, reshape, clone); the tape below them
 * knows none, so no op imports this file and no import cycle runs through it.
 *
 * @module
 */
import { noGrad } from './grad-mode.js';
import { add } from './ops/add.js';
import { clone } from './ops/clone.js';
import { reshape } from './ops/reshape.js';
import { sum } from './ops/sum.js';
import { broadcastsTo, fmt, sameShape } from './shape.js';
import type { GradNode, Tensor } from './tensor.js';
import { tidy } from './tidy.js';

/**
 * Sums a gradient of a broadcast shape back down to `shape` (the reverse of NumPy broadcasting): leading axes and
 * axes where `shape` has 1 are summed. Done here once for every rule, as tinygrad's `compute_gradient` does, instead
 * of in each broadcasting op's rule.
 */
function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length > 0 ? sum(g, axes, true) : g;
  return reshape(s, shape);
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
        let gi = owned[i];
        const edge = node.edges[i];
        if (!gi) continue;
        if (!edge) {
          gi.dispose();
          continue;
        }
        const shape = node.inputShapes[i]!;
        if (!sameShape(gi.shape, shape)) {
          if (!broadcastsTo(shape, gi.shape)) {
            throw new Error(
              `backward of '${node.op}': gradient for input ${i} has shape ${fmt(gi.shape)}, expected ${fmt(shape)}`,
            );
          }
          const full = gi;
          gi = tidy(() => sumToShape(full, shape));
          full.dispose();
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
