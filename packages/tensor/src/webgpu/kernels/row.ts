/**
 * Shared pieces of the row kernels (softmax, cross-entropy, rmsNorm): a 128-invocation workgroup tree reduction and
 * a helper that makes fused-kernel inputs contiguous.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import { isContiguous, stridesOf } from '../../shape.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { copy } from './elementwise.js';

/** WGSL: rowSum / rowMax across the 128 invocations of a workgroup (every invocation gets the result). */
export const ROW_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, 128>;
fn rowSum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn rowMax(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/** WGSL header line for a kernel that processes one row per workgroup (`row` is its linear id). */
export const ROW_MAIN = `@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;`;

/** WGSL header line for a kernel with one invocation per element (`i` is its linear id). */
export const ELEMENT_MAIN = `@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;`;

/** Fused kernels index rows directly: this returns `v` when contiguous, else a contiguous copy to free afterwards. */
export function contiguousInput(rt: Runtime, v: View, temps: GpuStorage[]): View {
  if (isContiguous(v)) return v;
  const c = copy(rt, v);
  temps.push(c);
  return { storage: c, shape: v.shape, strides: stridesOf(v.shape), offset: 0 };
}

/** Frees the temporaries collected by {@link contiguousInput}. */
export function freeAll(rt: Runtime, temps: GpuStorage[]): void {
  for (const t of temps) rt.free(t);
}
