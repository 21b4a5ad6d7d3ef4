/**
 * Grouped linear products that keep their weights apart (q/k/v, gate/up, and a residual epilogue), one dispatch each
 * way where the backend has the grouped kernels (`Backend.linearParts`), the `linear` composition elsewhere.
 *
 * The parameters stay separate tensors (checkpoints, LoRA, block and half weights address them by name); only the
 * kernels see them together. The outputs of {@link linearMany} are contiguous blocks of one storage, so rope and
 * reshape read them without a copy.
 *
 * @module
 */
import type { Backend, View } from '../backend/backend.js';
import { fmt, sizeOf, stridesOf } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { add } from './add.js';
import { contiguous, contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';
import { linear } from './linear.js';

/** Most weights {@link linearMany} fuses (the input gradient binds two buffers a part, within 8 per shader stage). */
export const MAX_LINEAR_MANY = 3;

/** x [..., K] read as rows [M, K] (x contiguous). */
function rowsView(x: Tensor): View {
  const K = x.shape[x.shape.length - 1]!;
  return { storage: x.storage, shape: [x.size / K, K], strides: [K, 1], offset: x.offset };
}

function checkWeight(op: string, x: Tensor, w: Tensor, what: string): void {
  requireDtype(op, w, 'float32', what);
  if (w.shape.length !== 2 || x.shape.length === 0 || w.shape[1] !== x.shape[x.shape.length - 1]) {
    throw new Error(`${op}: input ${fmt(x.shape)} does not end in the in-features of ${what} ${fmt(w.shape)}`);
  }
}

/**
 * The backward shared by both ops: dx = Σ_p dy_p · W_p in one pass and dW_p = dy_pᵀ · x for the weights that need
 * one, in one more. `dys[p]` is null for a part whose output received no gradient (it adds nothing).
 */
function partsBackward(
  backend: Backend,
  dys: readonly (Tensor | null)[],
  x: Tensor,
  weights: readonly Tensor[],
  needX: boolean,
  needW: readonly boolean[],
): [Tensor | null, ...(Tensor | null)[]] {
  const present = dys.flatMap((dy, p) => (dy ? [p] : []));
  const dyc = present.map((p) => contiguous(dys[p]!));
  const views = dyc.map(rowsView);
  let dx: Tensor | null = null;
  if (needX) {
    const w = present.map((p) => weights[p]!);
    dx = Tensor.fromStorage(backend.linearPartsInputGrad!(views, w), backend, x.shape);
  }
  const dw: (Tensor | null)[] = weights.map(() => null);
  const wanted = present.flatMap((p, i) => (needW[p] ? [i] : []));
  if (wanted.length > 0) {
    const grads = backend.linearPartsWeightGrad!(
      wanted.map((i) => views[i]!),
      rowsView(x),
    );
    wanted.forEach((i, j) => {
      const p = present[i]!;
      dw[p] = Tensor.fromStorage(grads[j]!, backend, weights[p]!.shape);
    });
  }
  for (const t of dyc) t.dispose();
  return [dx, ...dw];
}

/**
 * `x [..., K] · W_pᵀ` for each weight `W_p [N_p, K]` (1–3 float32 weights, PyTorch's `[out, in]` layout) → one
 * `[..., N_p]` tensor per weight, equal to `weights.map((w) => linear(x, w))`. With the backend's grouped kernels the
 * forward is one dispatch, the input gradient (Σ_p dy_p · W_p) one and the weight gradients one, instead of one per
 * weight plus the adds of the input gradients.
 *
 * ```ts
 * const [q, k, v] = linearMany(x, [wq, wk, wv]); // x [B, T, d] → [B, T, Hq·Dh], [B, T, Hkv·Dh], [B, T, Hkv·Dh]
 * ```
 */
export function linearMany(x: Tensor, weights: readonly Tensor[]): Tensor[] {
  const backend = backendOf('linearMany', x, ...weights);
  requireDtype('linearMany', x, 'float32', 'x');
  if (weights.length === 0 || weights.length > MAX_LINEAR_MANY) {
    throw new Error(`linearMany: takes 1 to ${MAX_LINEAR_MANY} weights, got ${weights.length}`);
  }
  for (const [i, w] of weights.entries()) checkWeight('linearMany', x, w, `weight ${i}`);
  if (!backend.linearParts || !backend.linearPartsInputGrad || !backend.linearPartsWeightGrad) {
    return weights.map((w) => linear(x, w));
  }
  const lead = x.shape.slice(0, -1);
  const M = sizeOf(lead);
  const xc = contiguousInput(x);
  const total = weights.reduce((n, w) => n + M * w.shape[0]!, 0);
  const packed = Tensor.fromStorage(backend.linearParts(rowsView(xc), weights, null), backend, [total]);
  // One node for the whole product; each output is a view of it whose rule only hands its gradient to that node's
  // rule (the tape has one output per node). The first part to run also passes a stride-0 view of its gradient as
  // the packed output's gradient, so the packed node runs after every part (tape order) without a dispatch.
  const dys: (Tensor | null)[] = weights.map(() => null);
  const node = record(
    'linearMany',
    [x, ...weights],
    packed,
    (_g, [xs, ...ws], needs) => {
      const grads = partsBackward(backend, dys, xs!, ws as Tensor[], needs[0]!, needs.slice(1));
      dys.forEach((dy, p) => {
        dy?.dispose();
        dys[p] = null;
      });
      return grads;
    },
    [xc, ...weights],
  );
  let handedOn = false;
  let offset = 0;
  const outputs = weights.map((w, p) => {
    const shape = [...lead, w.shape[0]!];
    const part = node.view_(shape, stridesOf(shape), offset);
    offset += M * w.shape[0]!;
    return record('linearManyPart', [node], part, (g) => {
      dys[p] = g.alias();
      if (handedOn) return [null];
      handedOn = true;
      return [g.view_([total], [0], g.offset)];
    });
  });
  node.dispose(); // record returned `packed` itself: the views and their nodes keep its storage and node alive
  releaseContiguousInput(xc, x);
  return outputs;
}

/**
 * `residual + x · Wᵀ`: a linear layer's product with the residual add as its epilogue (o_proj, down_proj), for x
 * `[..., K]`, float32 weight `[N, K]` and residual `[..., N]`. One dispatch forward where the backend has the grouped
 * kernels (else `linear` then `add`); the residual's gradient is the output's, passed through.
 */
export function linearResidual(x: Tensor, weight: Tensor, residual: Tensor): Tensor {
  const backend = backendOf('linearResidual', x, weight, residual);
  requireDtype('linearResidual', x, 'float32', 'x');
  requireDtype('linearResidual', residual, 'float32', 'residual');
  checkWeight('linearResidual', x, weight, 'weight');
  const outShape = [...x.shape.slice(0, -1), weight.shape[0]!];
  if (residual.shape.join() !== outShape.join()) {
    throw new Error(
      `linearResidual: residual ${fmt(residual.shape)} must be ${fmt(outShape)} for x ${fmt(x.shape)} and weight ${fmt(weight.shape)}`,
    );
  }
  if (!backend.linearParts || !backend.linearPartsInputGrad || !backend.linearPartsWeightGrad) {
    return add(residual, linear(x, weight));
  }
  const xc = contiguousInput(x);
  const rc = contiguousInput(residual);
  const out = Tensor.fromStorage(backend.linearParts(rowsView(xc), [weight], rowsView(rc)), backend, outShape);
  const y = record(
    'linearResidual',
    [x, weight, residual],
    out,
    (g, [xs, w], needs) => {
      const [dx, dw] = partsBackward(backend, [g], xs!, [w!], needs[0]!, [needs[1]!]);
      return [dx, dw, g];
    },
    [xc, weight],
  );
  releaseContiguousInput(xc, x);
  releaseContiguousInput(rc, residual);
  return y;
}
