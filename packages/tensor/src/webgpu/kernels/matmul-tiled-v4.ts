/**
 * The GPU-grade matmul kernel: shared-memory tiles loaded with vec4 reads along each operand's unit-stride axis,
 * double-buffered in workgroup memory (the next K slab is fetched into registers while the current one is
 * multiplied, so there is one barrier per slab instead of two), register micro-tiles, and an optional split of K
 * across workgroups for skinny products (partial products summed by a second, tiny kernel).
 *
 * Uniform words: the matmul block of matmul.ts (M, N, K, offsets, strides, batch dims from word 12) plus
 * word 9 = K splits, word 10 = K per split, word 11 = batch count.
 *
 * @module
 */

import type { GpuStorage, Runtime } from '../runtime.js';
import { batchCode, type Layout } from './matmul-code.js';

/** Tile shape of the double-buffered kernel. */
export interface TileV4Config {
  /** Output rows / cols per workgroup. */
  tm: number;
  tn: number;
  /** Depth of one K slab (a multiple of 4). */
  tk: number;
  /** Output rows / cols per invocation. */
  rm: number;
  rn: number;
}

/** Which operand loads may use vec4 (unit-stride axis a multiple of 4 long, offsets and other strides aligned). */
export interface Vec4Loads {
  a: boolean;
  b: boolean;
}

/**
 * Whether an operand can be read as `array<vec4<f32>>`: unit-stride axis of length divisible by 4 and every other
 * word offset (base offset, the non-unit stride, batch strides) divisible by 4, so each vec4 lies inside one row.
 */
export function vec4Ok(layout: Layout, unitLen: number, offset: number, otherStride: number, batch: number[]): boolean {
  if (layout === 'g') return false;
  return unitLen % 4 === 0 && offset % 4 === 0 && otherStride % 4 === 0 && batch.every((s) => s % 4 === 0);
}

/** Throws unless the tile fits the compatibility limits (128 invocations, 16 KiB workgroup memory). */
export function checkTileV4(t: TileV4Config): void {
  const threads = (t.tm / t.rm) * (t.tn / t.rn);
  const words = 2 * t.tk * (t.tm + t.tn);
  if (threads > 128 || !Number.isInteger(threads) || words * 4 > 16384 || t.tk % 4 !== 0) {
    throw new Error(`webgpu.matmul: tile ${JSON.stringify(t)} exceeds the compatibility limits`);
  }
  if ((t.tm * t.tk) % (threads * 4) !== 0 || (t.tn * t.tk) % (threads * 4) !== 0) {
    throw new Error(`webgpu.matmul: tile ${JSON.stringify(t)} does not split evenly into vec4 loads`);
  }
}

/** WGSL of the double-buffered kernel for one pair of layouts. */
export function tiledV4Code(t: TileV4Config, la: Layout, lb: Layout, vec: Vec4Loads, batchRank: number): string {
  checkTileV4(t);
  const { tm, tn, tk, rm, rn } = t;
  const tx = tn / rn;
  const threads = tx * (tm / rm);
  const wa = vec.a ? 4 : 1;
  const wb = vec.b ? 4 : 1;
  const aLoads = (tm * tk) / (threads * wa);
  const bLoads = (tk * tn) / (threads * wb);
  // Element e of a slab → (row m or col n, depth k); the unit-stride axis walks fastest, `wa` words per element.
  const aIdx =
    la === 'k'
      ? `let am = e / ${tk / wa}u; let ak = (e % ${tk / wa}u) * ${wa}u;`
      : `let ak = e / ${tm / wa}u; let am = (e % ${tm / wa}u) * ${wa}u;`;
  const bIdx =
    lb === 'k'
      ? `let bn = e / ${tk / wb}u; let bk = (e % ${tk / wb}u) * ${wb}u;`
      : `let bk = e / ${tn / wb}u; let bn = (e % ${tn / wb}u) * ${wb}u;`;
  const aAddr =
    la === 'k' ? 'aBase + gm * sAm + gk' : la === 'mn' ? 'aBase + gm + gk * sAk' : 'aBase + gm * sAm + gk * sAk';
  const bAddr =
    lb === 'mn' ? 'bBase + gk * sBk + gn' : lb === 'k' ? 'bBase + gk + gn * sBn' : 'bBase + gk * sBk + gn * sBn';
  const aType = vec.a ? 'vec4<f32>' : 'f32';
  const bType = vec.b ? 'vec4<f32>' : 'f32';
  const aLoad = vec.a ? `A4[(${aAddr}) / 4u]` : `A[${aAddr}]`;
  const bLoad = vec.b ? `B4[(${bAddr}) / 4u]` : `B[${bAddr}]`;
  // Stores of one register into a slab buffer `buf` (0 or 1): along k for K-contiguous operands, else along m / n.
  const aStore = (reg: string) => {
    if (!vec.a) return `As[buf * ${tk * tm}u + ak * ${tm}u + am] = ${reg};`;
    const step = la === 'k' ? (c: number) => `(ak + ${c}u) * ${tm}u + am` : (c: number) => `ak * ${tm}u + am + ${c}u`;
    return [0, 1, 2, 3].map((c) => `As[buf * ${tk * tm}u + ${step(c)}] = ${reg}[${c}];`).join(' ');
  };
  const bStore = (reg: string) => {
    if (!vec.b) return `Bs[buf * ${tk * tn}u + bk * ${tn}u + bn] = ${reg};`;
    const step = lb === 'k' ? (c: number) => `(bk + ${c}u) * ${tn}u + bn` : (c: number) => `bk * ${tn}u + bn + ${c}u`;
    return [0, 1, 2, 3].map((c) => `Bs[buf * ${tk * tn}u + ${step(c)}] = ${reg}[${c}];`).join(' ');
  };
  const zeroA = vec.a ? 'vec4<f32>(0.0)' : '0.0';
  const zeroB = vec.b ? 'vec4<f32>(0.0)' : '0.0';
  // With vec4 loads the unit-stride length is a multiple of 4, so checking the first word bounds the whole vector.
  const fetch = `fn loadSlab(k0: u32, kHi: u32, li: u32, m0: u32, n0: u32, aBase: u32, bBase: u32) {
  let M = pu(0u); let N = pu(1u);
  let sAm = pu(5u); let sAk = pu(6u); let sBk = pu(7u); let sBn = pu(8u);
  for (var i = 0u; i < ${aLoads}u; i++) {
    let e = li + i * ${threads}u;
    ${aIdx}
    let gm = m0 + am; let gk = k0 + ak;
    ra[i] = ${zeroA};
    if (gm < M && gk < kHi) { ra[i] = ${aLoad}; }
  }
  for (var i = 0u; i < ${bLoads}u; i++) {
    let e = li + i * ${threads}u;
    ${bIdx}
    let gn = n0 + bn; let gk = k0 + bk;
    rb[i] = ${zeroB};
    if (gn < N && gk < kHi) { rb[i] = ${bLoad}; }
  }
}
fn stash(buf: u32, li: u32) {
  for (var i = 0u; i < ${aLoads}u; i++) {
    let e = li + i * ${threads}u;
    ${aIdx}
    ${aStore('ra[i]')}
  }
  for (var i = 0u; i < ${bLoads}u; i++) {
    let e = li + i * ${threads}u;
    ${bIdx}
    ${bStore('rb[i]')}
  }
}`;
  return `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ${vec.a ? 'A4' : 'A'}: array<${aType}>;
@group(0) @binding(3) var<storage, read> ${vec.b ? 'B4' : 'B'}: array<${bType}>;
var<workgroup> As: array<f32, ${2 * tk * tm}>;
var<workgroup> Bs: array<f32, ${2 * tk * tn}>;
var<private> ra: array<${aType}, ${aLoads}>;
var<private> rb: array<${bType}, ${bLoads}>;
${fetch}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let nb = pu(11u);
  let z = wid.z % nb;
  let split = wid.z / nb;
  let kLo = split * pu(10u);
  let kHi = min(K, kLo + pu(10u));
${batchCode(batchRank)}
  let m0 = wid.y * ${tm}u;
  let n0 = wid.x * ${tn}u;
  let tr = (li / ${tx}u) * ${rm}u;
  let tc = (li % ${tx}u) * ${rn}u;
  var acc: array<array<f32, ${rn}>, ${rm}>;
  var buf = 0u;
  if (kLo < kHi) {
    loadSlab(kLo, kHi, li, m0, n0, aBase, bBase);
    stash(0u, li);
  }
  workgroupBarrier();
  for (var k0 = kLo; k0 < kHi; k0 += ${tk}u) {
    let more = k0 + ${tk}u < kHi;
    // Global reads of the next slab are issued before the arithmetic on this one, hiding their latency.
    if (more) { loadSlab(k0 + ${tk}u, kHi, li, m0, n0, aBase, bBase); }
    let ao = buf * ${tk * tm}u;
    let bo = buf * ${tk * tn}u;
    for (var kk = 0u; kk < ${tk}u; kk++) {
      var av: array<f32, ${rm}>;
      var bv: array<f32, ${rn}>;
      for (var r = 0u; r < ${rm}u; r++) { av[r] = As[ao + kk * ${tm}u + tr + r]; }
      for (var c = 0u; c < ${rn}u; c++) { bv[c] = Bs[bo + kk * ${tn}u + tc + c]; }
      for (var r = 0u; r < ${rm}u; r++) {
        for (var c = 0u; c < ${rn}u; c++) { acc[r][c] = fma(av[r], bv[c], acc[r][c]); }
      }
    }
    // The other buffer was last read before the previous barrier, so it can be filled without waiting.
    if (more) { stash(1u - buf, li); }
    workgroupBarrier();
    buf = 1u - buf;
  }
  let outBase = wid.z * M * N;
  for (var r = 0u; r < ${rm}u; r++) {
    let gm = m0 + tr + r;
    if (gm >= M) { break; }
    for (var c = 0u; c < ${rn}u; c++) {
      let gn = n0 + tc + c;
      if (gn < N) { out[outBase + gm * N + gn] = acc[r][c]; }
    }
  }
}`;
}

const SUM_SPLITS = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> part: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  let n = pu(0u);
  if (i >= n) { return; }
  var s = 0.0;
  for (var j = 0u; j < pu(1u); j++) { s += part[j * n + i]; }
  out[i] = s;
}`;

/**
 * Records the double-buffered kernel; with `splits` > 1 each split writes a partial product into a scratch buffer
 * and a second dispatch sums them (fixed order, so results do not depend on scheduling).
 */
export function dispatchTiledV4(
  rt: Runtime,
  t: TileV4Config,
  splits: number,
  la: Layout,
  lb: Layout,
  vec: Vec4Loads,
  br: number,
  out: GpuStorage,
  a: GpuStorage,
  b: GpuStorage,
  params: number[],
  M: number,
  N: number,
  K: number,
  batch: number,
): void {
  const key = `mm4:${la}:${lb}:${br}:${vec.a}:${vec.b}:${t.tm}x${t.tn}x${t.tk}/${t.rm}x${t.rn}`;
  const p = rt.pipeline(key, () => tiledV4Code(t, la, lb, vec, br));
  // Each split covers whole slabs; never more splits than slabs, nor a grid deeper than 65535.
  const slabs = Math.ceil(K / t.tk);
  const s = Math.max(1, Math.min(splits, slabs, Math.floor(65535 / batch)));
  const chunk = Math.ceil(slabs / s) * t.tk;
  const used = Math.ceil(K / chunk);
  const words = [...params];
  words[9] = used;
  words[10] = chunk;
  words[11] = batch;
  const grid: [number, number, number] = [Math.ceil(N / t.tn), Math.ceil(M / t.tm), batch * used];
  if (used === 1) {
    rt.dispatch(p, [out, a, b], words, grid);
    return;
  }
  const part = rt.alloc('float32', used * batch * M * N);
  rt.dispatch(p, [part, a, b], words, grid);
  const total = batch * M * N;
  rt.dispatch(
    rt.pipeline('mm4:sum', () => SUM_SPLITS),
    [out, part],
    [total, used],
    Math.ceil(total / 128),
  );
  rt.free(part);
}
