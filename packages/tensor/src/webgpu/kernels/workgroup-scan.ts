/**
 * WGSL helpers for kernels that give one workgroup a whole row (`sampleTokens`): sums, minima, the first best
 * (value, index) and in-order exclusive prefix sums over a workgroup's invocations, through workgroup memory.
 *
 * @module
 */

/** WGSL: reductions and in-order exclusive prefix sums over a workgroup's `wg` invocations. */
export const workgroupReductions = (wg: number) => /* wgsl */ `
const WG = ${wg}u;
const NONE = 0xffffffffu;
var<workgroup> su: array<u32, ${wg}>;
var<workgroup> sf: array<f32, ${wg}>;
var<workgroup> si: array<u32, ${wg}>;
var<workgroup> scanTotal: f32;
fn sumU(v: u32, li: u32) -> u32 {
  su[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) { su[li] = su[li] + su[li + s]; }
    workgroupBarrier();
  }
  let r = su[0];
  workgroupBarrier();
  return r;
}
fn minU(v: u32, li: u32) -> u32 {
  su[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) { su[li] = min(su[li], su[li + s]); }
    workgroupBarrier();
  }
  let r = su[0];
  workgroupBarrier();
  return r;
}
fn sumF(v: f32, li: u32) -> f32 {
  sf[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) { sf[li] = sf[li] + sf[li + s]; }
    workgroupBarrier();
  }
  let r = sf[0];
  workgroupBarrier();
  return r;
}
// Exclusive prefix sums in invocation (= id range) order, summed sequentially as the reference walks ids.
fn scanU(v: u32, li: u32) -> u32 {
  su[li] = v;
  workgroupBarrier();
  if (li == 0u) {
    var acc = 0u;
    for (var t = 0u; t < WG; t++) { let x = su[t]; su[t] = acc; acc = acc + x; }
  }
  workgroupBarrier();
  let r = su[li];
  workgroupBarrier();
  return r;
}
fn scanF(v: f32, li: u32) -> f32 {
  sf[li] = v;
  workgroupBarrier();
  if (li == 0u) {
    var acc = 0.0;
    for (var t = 0u; t < WG; t++) { let x = sf[t]; sf[t] = acc; acc = acc + x; }
    scanTotal = acc;
  }
  workgroupBarrier();
  let r = sf[li];
  workgroupBarrier();
  return r;
}
// The index of the best (value, index): larger value, then lower index; invocations with nothing pass index NONE.
fn argBest(v: f32, i: u32, li: u32) -> u32 {
  sf[li] = v;
  si[li] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) {
      let v2 = sf[li + s];
      let i2 = si[li + s];
      if (i2 != NONE && (si[li] == NONE || v2 > sf[li] || (v2 == sf[li] && i2 < si[li]))) {
        sf[li] = v2;
        si[li] = i2;
      }
    }
    workgroupBarrier();
  }
  let r = si[0];
  workgroupBarrier();
  return r;
}
`;
