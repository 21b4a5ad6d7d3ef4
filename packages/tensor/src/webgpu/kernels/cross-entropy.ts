/**
 * Fused cross-entropy: the forward reduces each row once for its log-sum-exp and picks the target (a row kernel of
 * the tunable `rows` family, `row-variants.ts`); the backward is
 * one elementwise pass (softmax − onehot) · gradLoss that never materialises the softmax.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';
import { type RowVariant, rowGroups, rowKernel, rowVariant, rowVariantKey } from './row-variants.js';

const FORWARD = (v: RowVariant) => {
  const k = rowKernel(v, 'pu(0u)');
  return `${k.decls}
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
${k.main}
  let V = pu(1u);
  let base = pu(2u) + row * V;
  var m = -inf_();
  for (var j = lane; j < V; j += LANES) { m = max(m, x[base + j]); }
  m = rowMax(m, li);
  var s = 0.0;
  for (var j = lane; j < V; j += LANES) { s += exp(x[base + j] - m); }
  s = rowSum(s, li);
  if (live && lane == 0u) {
    let l = m + log(s);
    lse[row] = l;
    let t = targets[pu(3u) + row];
    loss[row] = select(l - x[base + u32(t)], 0.0, t == pi(4u));
  }
}`;
};

const BACKWARD = `
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> gl: array<f32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let V = pu(1u);
  let row = i / V;
  let col = i % V;
  let t = targets[pu(3u) + row];
  if (t == pi(4u)) { dx[i] = 0.0; return; }
  let g = gl[pu(6u) + row];
  let p = exp(x[pu(2u) + i] - lse[pu(5u) + row]);
  dx[i] = (p - select(0.0, 1.0, u32(t) == col)) * g;
}`;

/** Per-row loss (0 for ignored targets) and log-sum-exp of logits [N, V]. */
export function crossEntropy(
  rt: Runtime,
  logits: View,
  targets: View,
  ignoreIndex: number,
): { loss: GpuStorage; lse: GpuStorage } {
  const [N, V] = logits.shape as [number, number];
  const loss = rt.alloc('float32', N);
  const lse = rt.alloc('float32', N);
  if (N === 0) return { loss, lse };
  const temps: GpuStorage[] = [];
  const x = contiguousInput(rt, logits, temps);
  const t = contiguousInput(rt, targets, temps);
  const v = rowVariant(rt, { op: 'cross-entropy', rows: N, cols: V });
  const p = rt.pipeline(`ce:fwd:${rowVariantKey(v)}`, () => FORWARD(v));
  const params = [N, V, x.offset, t.offset, ignoreIndex >>> 0];
  rt.dispatch(p, [loss, lse, x.storage as GpuStorage, t.storage as GpuStorage], params, rowGroups(v, N));
  freeAll(rt, temps);
  return { loss, lse };
}

/** d logits [N, V] = (softmax − onehot(target)) · gradLoss[row]; zero rows for ignored targets. */
export function crossEntropyBackward(
  rt: Runtime,
  logits: View,
  targets: View,
  lse: View,
  gradLoss: View,
  ignoreIndex: number,
): GpuStorage {
  const [N, V] = logits.shape as [number, number];
  const out = rt.alloc('float32', N * V);
  if (N * V === 0) return out;
  const temps: GpuStorage[] = [];
  const x = contiguousInput(rt, logits, temps);
  const t = contiguousInput(rt, targets, temps);
  const l = contiguousInput(rt, lse, temps);
  const g = contiguousInput(rt, gradLoss, temps);
  const p = rt.pipeline('ce:bwd', () => BACKWARD);
  const params = [N * V, V, x.offset, t.offset, ignoreIndex >>> 0, l.offset, g.offset];
  const storages = [out, x.storage, t.storage, l.storage, g.storage] as GpuStorage[];
  rt.dispatch(p, storages, params, Math.ceil((N * V) / 128));
  freeAll(rt, temps);
  return out;
}
