/**
 * Token sampling on the GPU, one workgroup per row (256 invocations, 64 on a CPU adapter), following `cpu/sample-tokens.ts` step by step in
 * float32. Top-k and top-p never sort the vocabulary: each is a threshold select over the logits' order-preserving
 * u32 keys, built bit by bit from the top (32 counting or mass-summing passes over the row), with ties at the
 * threshold taken lowest ids first through a prefix count over the invocations' contiguous id ranges. The draw
 * walks the kept tokens in id order: a prefix sum over the ranges, then one invocation walks the range that crosses
 * `uniform · mass`. Rows at a temperature alone (what serving clients mostly ask) read their logits in place and sum
 * their weights without storing them: two passes over the vocabulary and part of a third, where top-k / top-p rows take ~70 (16 rows
 * × 32000 on lavapipe: 8.5 → 3.9 ms, BENCHMARKS.md). A second kernel, only when log-probabilities are asked for,
 * scores the raw logits.
 *
 * @module
 */
import type { SampledStorages, SamplingRows, View } from '../../backend/backend.js';
import { MIN_EXPONENT } from '../../cpu/sample-tokens.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { workgroupReductions } from './workgroup-scan.js';

const draw = (wg: number) => /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> outIds: array<i32>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> rowf: array<vec4<f32>>; // temperature, topP, uniform, 1 / temperature
@group(0) @binding(6) var<storage, read> rowi: array<vec4<i32>>; // topK, first entry, end of entries, 0
@group(0) @binding(7) var<storage, read> entryIds: array<i32>;
@group(0) @binding(8) var<storage, read> entryVals: array<vec4<f32>>; // bias, scale if > 0, scale if <= 0, penalty
${workgroupReductions(wg)}
// Order-preserving u32 key of a float (larger float, larger key).
fn keyOf(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
// exp(z), flushed to 0 below MIN_EXPONENT as in the reference (float32 would underflow where float64 does not).
fn weightOf(z: f32) -> f32 { return select(exp(z), 0.0, z < ${MIN_EXPONENT}.0); }
fn valueOf(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}
// Above a threshold key t, or one of its first \`ties\` occurrences in id order (\`run\` counts those seen).
fn keep(kk: u32, on: bool, t: u32, ties: u32, run: ptr<function, u32>) -> bool {
  if (!on || kk > t) { return true; }
  if (kk == t) {
    let r = *run;
    *run = r + 1u;
    return r < ties;
  }
  return false;
}

// The row's adjusted logit j: the logits themselves when nothing was copied (no entries, no top-k / top-p), else
// their adjusted copy in \`a\`.
var<private> hasEntries: bool;
var<private> aBase: u32;
var<private> xBase: u32;
fn lg(j: u32) -> f32 {
  if (hasEntries) { return a[aBase + j]; }
  return x[xBase + j];
}
// exp((lg(j) − m) · inv), as the weights pass and the draw both compute it.
fn weightAt(j: u32, m: f32, inv: f32) -> f32 { return weightOf((lg(j) - m) * inv); }

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= pu(0u)) { return; }
  let V = pu(1u);
  let base = row * V;
  let xb = pu(2u) + base;
  let chunk = (V + WG - 1u) / WG;
  let j0 = min(li * chunk, V);
  let j1 = min(j0 + chunk, V);
  let rf = rowf[row];
  let ri = rowi[row];
  let k = u32(max(ri.x, 0));
  let onK = k > 0u && k < V;
  let onP = rf.y < 1.0;
  // Top-k / top-p rows read \`a\` in their many passes (no branch per read); rows with neither and without entries
  // read the logits in place. A let, not the private copy, guards the barriers below (the uniformity analysis
  // trusts the former).
  let filtered = rf.x > 0.0 && (onK || onP);
  let copied = filtered || ri.z > ri.y;
  hasEntries = copied;
  aBase = base;
  xBase = xb;

  // 1. Adjusted logits: bias, repetition factor, penalty (entry ids are unique within a row).
  if (copied) {
    for (var j = j0; j < j1; j++) { a[base + j] = x[xb + j]; }
    storageBarrier();
    for (var e = u32(ri.y) + li; e < u32(ri.z); e += WG) {
      let id = base + u32(entryIds[e]);
      let ev = entryVals[e];
      let b = a[id] + ev.x;
      let scaled = b * select(ev.z, ev.y, b > 0.0);
      a[id] = scaled - ev.w;
    }
    storageBarrier();
  }

  // 2. Greedy: the first maximum.
  var bv = -inf_();
  var bi = NONE;
  for (var j = j0; j < j1; j++) {
    let v = lg(j);
    if (bi == NONE || v > bv) { bv = v; bi = j; }
  }
  let am = argBest(bv, bi, li);
  if (!(rf.x > 0.0)) {
    if (li == 0u) { outIds[row] = i32(am); }
    return;
  }
  let m = lg(am);
  let inv = rf.w;
  // Temperature alone keeps every token: the weights' sum over the range is the draw's mass there, and no pass
  // below reads a stored weight.
  var mine = 0.0;
  if (filtered) {
    for (var j = j0; j < j1; j++) { w[base + j] = weightOf((a[base + j] - m) * inv); }
  } else {
    for (var j = j0; j < j1; j++) { mine += weightAt(j, m, inv); }
  }

  // 3. Top-k: tk is the k-th largest key; ties at it are kept lowest ids first.
  var tk = 0u;
  var tiesK = 0u;
  var runK0 = 0u;
  if (onK) {
    for (var bit = 0u; bit < 32u; bit++) {
      let c = tk | (0x80000000u >> bit);
      var n = 0u;
      for (var j = j0; j < j1; j++) { if (keyOf(a[base + j]) >= c) { n++; } }
      if (sumU(n, li) >= k) { tk = c; }
    }
    var gt = 0u;
    var eq = 0u;
    for (var j = j0; j < j1; j++) {
      let kk = keyOf(a[base + j]);
      if (kk > tk) { gt++; } else if (kk == tk) { eq++; }
    }
    tiesK = k - sumU(gt, li);
    runK0 = scanU(eq, li);
  }

  // 4. Top-p: tp is the largest key whose candidates at or above it hold topP of the candidates' weight. The
  // candidates' total is only summed here: rows without top-p (temperature alone) skip a pass over the vocabulary.
  var tp = 0u;
  var tiesP = 0u;
  var runP0 = 0u;
  if (onP) {
    var total = 0.0;
    var run = runK0;
    for (var j = j0; j < j1; j++) { if (keep(keyOf(a[base + j]), onK, tk, tiesK, &run)) { total += w[base + j]; } }
    total = sumF(total, li);
    let goal = rf.y * total;
    for (var bit = 0u; bit < 32u; bit++) {
      let c = tp | (0x80000000u >> bit);
      var s = 0.0;
      var r = runK0;
      for (var j = j0; j < j1; j++) {
        let kk = keyOf(a[base + j]);
        if (keep(kk, onK, tk, tiesK, &r) && kk >= c) { s += w[base + j]; }
      }
      if (sumF(s, li) >= goal) { tp = c; }
    }
    var above = 0.0;
    var eq = 0u;
    var r = runK0;
    for (var j = j0; j < j1; j++) {
      let kk = keyOf(a[base + j]);
      if (keep(kk, onK, tk, tiesK, &r)) {
        if (kk > tp) { above += w[base + j]; } else if (kk == tp) { eq++; }
      }
    }
    let aboveAll = sumF(above, li);
    let eqAll = sumU(eq, li);
    let wt = weightOf((valueOf(tp) - m) * inv);
    tiesP = eqAll;
    if (wt > 0.0) { tiesP = u32(clamp(ceil((goal - aboveAll) / wt), 1.0, f32(eqAll))); }
    runP0 = scanU(eq, li);
  }

  // 5. The draw over the kept tokens in id order.
  if (filtered) {
    var rk = runK0;
    var rp = runP0;
    for (var j = j0; j < j1; j++) {
      let kk = keyOf(a[base + j]);
      if (keep(kk, onK, tk, tiesK, &rk) && keep(kk, onP, tp, tiesP, &rp)) { mine += w[base + j]; }
    }
  }
  var acc = scanF(mine, li);
  let t = rf.z * scanTotal;
  var found = NONE;
  var lastRev = NONE;
  if (filtered) {
    var rk = runK0;
    var rp = runP0;
    for (var j = j0; j < j1; j++) {
      let kk = keyOf(a[base + j]);
      if (keep(kk, onK, tk, tiesK, &rk) && keep(kk, onP, tp, tiesP, &rp)) {
        lastRev = V - 1u - j;
        if (found == NONE) {
          acc += w[base + j];
          if (acc > t) { found = j; }
        }
      }
    }
  } else if (j0 < j1) {
    // Every token is kept (the last is V - 1). A range whose running sum cannot pass t is not walked: its float32
    // walk and the scan's prefix after it are two sums of the same non-negative weights from the same start, each
    // within (n + 1)·2^-24 of the exact sum relatively (n = the range's length), so the walk ends below
    // prefix · (1 + 4 (n + 1) 2^-24) for n ≤ 2^20; a range after t finds its first token. Only the range that crosses t
    // walks, and it stops there: the same tokens as walking every range, at a fraction of the passes.
    let after = acc + mine;
    if (acc > t) {
      found = j0;
    } else if (after * (1.0 + f32(4u * (j1 - j0 + 1u)) * ${2 ** -24}) > t) {
      for (var j = j0; j < j1; j++) {
        acc += weightAt(j, m, inv);
        if (acc > t) { found = j; break; }
      }
    }
    lastRev = 0u;
  }
  let first = minU(found, li);
  let last = V - 1u - minU(lastRev, li);
  if (li == 0u) { outIds[row] = i32(select(last, first, first != NONE)); }
}`;

const logprobs = (wg: number) => /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> lp: array<f32>;
@group(0) @binding(2) var<storage, read_write> topIds: array<i32>;
@group(0) @binding(3) var<storage, read_write> topLp: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<i32>;
${workgroupReductions(wg)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= pu(0u)) { return; }
  let V = pu(1u);
  let xb = pu(2u) + row * V;
  let n = pu(3u);
  let chunk = (V + WG - 1u) / WG;
  let j0 = min(li * chunk, V);
  let j1 = min(j0 + chunk, V);
  var bv = -inf_();
  var bi = NONE;
  for (var j = j0; j < j1; j++) { let v = x[xb + j]; if (bi == NONE || v > bv) { bv = v; bi = j; } }
  let m = x[xb + argBest(bv, bi, li)];
  var s = 0.0;
  for (var j = j0; j < j1; j++) { s += exp(x[xb + j] - m); }
  let lse = m + log(sumF(s, li));
  if (li == 0u) { lp[row] = x[xb + u32(ids[row])] - lse; }
  // The n best raw logits in (value descending, id ascending) order: each pass takes the best after the last.
  var pv = 0.0;
  var pidx = 0u;
  for (var r = 0u; r < n; r++) {
    var cv = -inf_();
    var ci = NONE;
    for (var j = j0; j < j1; j++) {
      let v = x[xb + j];
      let after = r == 0u || v < pv || (v == pv && j > pidx);
      if (after && (ci == NONE || v > cv)) { cv = v; ci = j; }
    }
    pidx = argBest(cv, ci, li);
    pv = x[xb + pidx];
    if (li == 0u) {
      topIds[row * n + r] = i32(pidx);
      topLp[row * n + r] = pv - lse;
    }
  }
}`;

/** The largest float32 below 1: a uniform draw rounded up to 1 would never be exceeded. */
const BELOW_ONE = 1 - 2 ** -24;

function upload(rt: Runtime, data: Float32Array | Int32Array, temps: GpuStorage[]): GpuStorage {
  const s = rt.alloc(data instanceof Int32Array ? 'int32' : 'float32', data.length);
  rt.write(s, data);
  temps.push(s);
  return s;
}

/** One token per row of contiguous logits [B, V] (see the module comment); log-probabilities when n ≥ 0. */
export function sampleTokens(rt: Runtime, logits: View, rows: SamplingRows, topLogprobs: number): SampledStorages {
  const [B, V] = logits.shape as [number, number];
  const ids = rt.alloc('int32', B);
  const out: SampledStorages = { ids };
  const temps: GpuStorage[] = [];
  // A CPU adapter runs a workgroup's invocations as coroutines, so every barrier costs per invocation: fewer there.
  // The reductions halve WG, so it stays a power of two within the device's limits (128 at the compatibility level).
  const limits = rt.device.limits;
  const cap = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  let wg = rt.cpuAdapter ? 64 : 256;
  while (wg > cap) wg >>= 1;
  const rowf = new Float32Array(B * 4);
  const rowi = new Int32Array(B * 4);
  for (let r = 0; r < B; r++) {
    const t = rows.temperature[r]!;
    rowf.set([t, rows.topP[r]!, Math.min(Math.fround(rows.uniform[r]!), BELOW_ONE), t > 0 ? 1 / t : 0], r * 4);
    rowi.set([rows.topK[r]!, rows.entryStart[r]!, rows.entryStart[r + 1]!, 0], r * 4);
  }
  const E = rows.entryIds.length;
  const vals = new Float32Array(Math.max(1, E) * 4);
  for (let e = 0; e < E; e++) {
    vals.set([rows.bias[e]!, rows.scalePositive[e]!, rows.scaleNegative[e]!, rows.penalty[e]!], e * 4);
  }
  const entryIds = new Int32Array(Math.max(1, E));
  entryIds.set(rows.entryIds);
  if (B > 0) {
    const a = rt.alloc('float32', B * V);
    const w = rt.alloc('float32', B * V);
    temps.push(a, w);
    const storages = [
      ids,
      a,
      w,
      logits.storage as GpuStorage,
      upload(rt, rowf, temps),
      upload(rt, rowi, temps),
      upload(rt, entryIds, temps),
      upload(rt, vals, temps),
    ];
    rt.dispatch(
      rt.pipeline(`sample:draw-in-place:${wg}`, () => draw(wg)),
      storages,
      [B, V, logits.offset],
      B,
    );
  }
  if (topLogprobs >= 0) {
    const n = topLogprobs;
    const lp = rt.alloc('float32', B);
    const topIds = rt.alloc('int32', B * n);
    const topLp = rt.alloc('float32', B * n);
    if (B > 0) {
      const storages = [lp, topIds, topLp, logits.storage as GpuStorage, ids];
      rt.dispatch(
        rt.pipeline(`sample:logprobs:${wg}`, () => logprobs(wg)),
        storages,
        [B, V, logits.offset, n],
        B,
      );
    }
    out.logprob = lp;
    if (n > 0) {
      out.topIds = topIds;
      out.topLogprobs = topLp;
    } else {
      temps.push(topIds, topLp);
    }
  }
  for (const t of temps) rt.free(t);
  return out;
}
