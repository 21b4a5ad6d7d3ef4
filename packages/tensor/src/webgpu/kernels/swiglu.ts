/**
 * Fused SwiGLU gating: y = silu(gate) · up in one pass, and its backward writing dgate and dup in one pass
 * (the composition takes two dispatches forward and five backward).
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';

const HEADER = `@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i >= pu(0u)) { return; }`;

// sigmoid as 1 / (1 + exp(−g)): exp overflows to +inf for very negative g, giving s = 0 (the limit), never NaN.
const FORWARD = `@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
${HEADER}
  let g = gate[pu(1u) + i];
  let s = 1.0 / (1.0 + exp(-g));
  y[i] = g * s * up[pu(2u) + i];
}`;

const BACKWARD = `@group(0) @binding(1) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dup: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> gate: array<f32>;
@group(0) @binding(5) var<storage, read> up: array<f32>;
${HEADER}
  let g = gate[pu(2u) + i];
  let d = dy[pu(1u) + i];
  let s = 1.0 / (1.0 + exp(-g));
  dgate[i] = d * up[pu(3u) + i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}`;

/** silu(gate) · up over contiguous views of one size. */
export function swiglu(rt: Runtime, gate: View, up: View): GpuStorage {
  const n = gate.shape[0]!;
  const y = rt.alloc('float32', n);
  if (n === 0) return y;
  const p = rt.pipeline('swiglu:fwd', () => FORWARD);
  rt.dispatch(
    p,
    [y, gate.storage as GpuStorage, up.storage as GpuStorage],
    [n, gate.offset, up.offset],
    Math.ceil(n / 128),
  );
  return y;
}

/** dgate and dup of {@link swiglu} for dy. */
export function swigluBackward(rt: Runtime, dy: View, gate: View, up: View): { dgate: GpuStorage; dup: GpuStorage } {
  const n = gate.shape[0]!;
  const dgate = rt.alloc('float32', n);
  const dup = rt.alloc('float32', n);
  if (n === 0) return { dgate, dup };
  const p = rt.pipeline('swiglu:bwd', () => BACKWARD);
  const storages = [dgate, dup, dy.storage, gate.storage, up.storage] as GpuStorage[];
  rt.dispatch(p, storages, [n, dy.offset, gate.offset, up.offset], Math.ceil(n / 128));
  return { dgate, dup };
}
