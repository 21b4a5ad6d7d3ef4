/**
 * One-row products (decode) with subgroup reductions, for adapters that offer the `subgroups` feature: one
 * workgroup of 64 invocations per output column walks K with unit-stride reads of a K-contiguous weight
 * (`x · Wᵀ`, W stored [out, in]); `subgroupAdd` folds each subgroup's partial sums without barriers, and one
 * workgroup-memory step combines the subgroups (whatever their size: WGSL fixes no mapping from invocation index to
 * subgroup, so only subgroup leaders write and invocation 0 sums all 64 slots).
 *
 * @module
 */

import type { GpuStorage, Runtime } from '../runtime.js';
import { batchCode, MATMUL_BINDINGS } from './matmul-code.js';

const WG = 64;

/** WGSL of the subgroup GEMV (B K-contiguous). */
export function gemvSubgroupCode(batchRank: number): string {
  return `enable subgroups;
${MATMUL_BINDINGS}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sl: u32) {
  let N = pu(1u); let K = pu(2u);
  let z = wid.z;
${batchCode(batchRank)}
  let sAk = pu(6u); let sBn = pu(8u);
  let n = wid.x + wid.y * nwg.x;
  let live = n < N;
  let bn = bBase + min(n, N - 1u) * sBn;
  var acc = 0.0;
  for (var k = li; k < K; k += ${WG}u) { acc = fma(A[aBase + k * sAk], B[bn + k], acc); }
  let s = subgroupAdd(acc);
  part[li] = select(0.0, s, sl == 0u);
  workgroupBarrier();
  if (li == 0u && live) {
    var t = 0.0;
    for (var i = 0u; i < ${WG}u; i++) { t += part[i]; }
    out[z * N + n] = t;
  }
}`;
}

/** Records the subgroup GEMV: one workgroup per column (grid x·y covers N, z the batch). */
export function dispatchGemvSubgroup(
  rt: Runtime,
  br: number,
  storages: GpuStorage[],
  params: number[],
  N: number,
  batch: number,
): void {
  const p = rt.pipeline(`gemv-sg:${br}`, () => gemvSubgroupCode(br));
  const x = Math.min(N, 65535);
  rt.dispatch(p, storages, params, [x, Math.ceil(N / x), batch]);
}
