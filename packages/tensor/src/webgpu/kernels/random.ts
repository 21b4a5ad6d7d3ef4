/**
 * Counter-based random numbers: a WGSL port of the Philox4x32-10 generator defined in `random/philox.ts`, bit-exact
 * in the 32-bit words (the 64-bit products are built from 16-bit halves, as WGSL has no u64).
 *
 * @module
 */

import { splitUint64 } from '../../random/philox.js';
import type { GpuStorage, Runtime } from '../runtime.js';

const CODE = (normal: boolean) => /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
fn mulhi(a: u32, b: u32) -> u32 {
  let aL = a & 0xffffu; let aH = a >> 16u; let bL = b & 0xffffu; let bH = b >> 16u;
  let ll = aL * bL; let lh = aL * bH; let hl = aH * bL; let hh = aH * bH;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}
fn philox(c: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var x = c;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u); }
    let hi0 = mulhi(0xD2511F53u, x.x); let lo0 = 0xD2511F53u * x.x;
    let hi1 = mulhi(0xCD9E8D57u, x.z); let lo1 = 0xCD9E8D57u * x.z;
    x = vec4<u32>(hi1 ^ x.y ^ k.x, lo1, hi0 ^ x.w ^ k.y, lo0);
  }
  return x;
}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i >= pu(0u)) { return; }
  let lo = pu(1u) + i;
  let hi = pu(2u) + select(0u, 1u, lo < i);
  let w = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(pu(3u), pu(4u)));
  ${
    normal
      ? `let u1 = f32((w.x >> 8u) + 1u) * 5.9604644775390625e-8;
  let u2 = f32(w.y >> 8u) * 5.9604644775390625e-8;
  out[i] = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);`
      : 'out[i] = f32(w.x >> 8u) * 5.9604644775390625e-8;'
  }
}`;

/** `size` uniform [0, 1) or standard normal floats for counters offset … offset + size − 1 under `seed`. */
export function random(
  rt: Runtime,
  kind: 'uniform' | 'normal',
  size: number,
  seed: number,
  offset: number,
): GpuStorage {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`webgpu.random: seed must be a non-negative safe integer, got ${seed}`);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`webgpu.random: offset must be a non-negative safe integer, got ${offset}`);
  }
  const out = rt.alloc('float32', size);
  if (size === 0) return out;
  const [k0, k1] = splitUint64(seed);
  const [lo, hi] = splitUint64(offset);
  const p = rt.pipeline(`random:${kind}`, () => CODE(kind === 'normal'));
  rt.dispatch(p, [out], [size, lo, hi, k0, k1], Math.ceil(size / 128));
  return out;
}
