/**
 * x · Wᵀ with W in a block format (f16, bf16, Q8_0, Q4_0, Q4_K, Q6_K) decoded inside the kernel: the weight stays in
 * its GGUF bytes on the device (bound as u32 words; blocks are not word-aligned, so bytes are read by shift and mask).
 * On GPUs one 128-invocation workgroup per output element (row of x, row of W): the invocations split the row's blocks
 * and meet in a tree reduction. On CPU adapters one invocation per output (their lanes are SIMD, barriers cost).
 * Both are decode (GEMV) shapes; prefill runs the same kernels once per output element (no tiled kernel yet).
 * Half floats come through `unpack2x16float`, so no `shader-f16` feature is needed.
 *
 * @module
 */
import type { BlockType, View } from '../../backend/backend.js';
import { ggmlBlockInfo } from '../../formats/ggml-types.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { contiguousInput, ELEMENT_MAIN, freeAll, ROW_MAIN, ROW_REDUCE } from './row.js';

// Σ over one block of W[row] · x: `o` is the block's first byte, `xb` the index in x of its first element.
const BLOCK_DOT: Record<BlockType, string> = {
  F16: `fn blockDot(o: u32, xb: u32) -> f32 { return halfAt(o) * x[xb]; }`,
  BF16: `fn blockDot(o: u32, xb: u32) -> f32 {
  return bitcast<f32>((byteAt(o) | (byteAt(o + 1u) << 8u)) << 16u) * x[xb];
}`,
  // Q8_0 and Q4_0 blocks start at even bytes (34 and 18 bytes, rows of whole blocks): read their payload four bytes
  // at a time with word2 instead of one load per byte.
  Q8_0: `fn blockDot(o: u32, xb: u32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < 32u; j += 4u) {
    let w = word2(o + 2u + j);
    s += f32(i32(w << 24u) >> 24u) * x[xb + j] + f32(i32(w << 16u) >> 24u) * x[xb + j + 1u]
      + f32(i32(w << 8u) >> 24u) * x[xb + j + 2u] + f32(i32(w) >> 24u) * x[xb + j + 3u];
  }
  return halfAt(o) * s;
}`,
  Q4_0: `fn blockDot(o: u32, xb: u32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < 16u; j += 4u) {
    let w = word2(o + 2u + j);
    for (var t = 0u; t < 4u; t++) {
      let q = (w >> (8u * t)) & 255u;
      s += (f32(q & 15u) - 8.0) * x[xb + j + t] + (f32(q >> 4u) - 8.0) * x[xb + j + t + 16u];
    }
  }
  return halfAt(o) * s;
}`,
  // d·scale·q − dmin·min per 32-element sub-block; scales/mins are 6-bit, packed in 12 bytes (see ggml-dequantize.ts).
  Q4_K: `fn scaleMin(o: u32, j: u32) -> vec2<f32> {
  if (j < 4u) { return vec2<f32>(f32(byteAt(o + j) & 63u), f32(byteAt(o + j + 4u) & 63u)); }
  let lo = byteAt(o + j + 4u);
  return vec2<f32>(f32((lo & 15u) | ((byteAt(o + j - 4u) >> 6u) << 4u)), f32((lo >> 4u) | ((byteAt(o + j) >> 6u) << 4u)));
}
fn blockDot(o: u32, xb: u32) -> f32 {
  let d = halfAt(o);
  let dmin = halfAt(o + 2u);
  var total = 0.0;
  for (var pair = 0u; pair < 4u; pair++) {
    let a = scaleMin(o + 4u, 2u * pair);
    let b = scaleMin(o + 4u, 2u * pair + 1u);
    var s1 = 0.0; var x1 = 0.0; var s2 = 0.0; var x2 = 0.0;
    for (var l = 0u; l < 32u; l++) {
      let q = byteAt(o + 16u + 32u * pair + l);
      let xa = x[xb + 64u * pair + l];
      let xc = x[xb + 64u * pair + 32u + l];
      s1 += f32(q & 15u) * xa; x1 += xa;
      s2 += f32(q >> 4u) * xc; x2 += xc;
    }
    total += d * a.x * s1 - dmin * a.y * x1 + d * b.x * s2 - dmin * b.y * x2;
  }
  return total;
}`,
  // Two halves of 128: low 4 bits in ql, high 2 bits in qh, one int8 scale per 16 elements, f16 d last.
  Q6_K: `fn blockDot(o: u32, xb: u32) -> f32 {
  let d = halfAt(o + 208u);
  var total = 0.0;
  for (var h = 0u; h < 2u; h++) {
    let ql = o + 64u * h;
    let qh = o + 128u + 32u * h;
    let sc = o + 192u + 8u * h;
    let y = xb + 128u * h;
    for (var l = 0u; l < 32u; l++) {
      let is = l >> 4u;
      let hb = byteAt(qh + l);
      let lo0 = byteAt(ql + l);
      let lo1 = byteAt(ql + l + 32u);
      let q1 = f32(i32((lo0 & 15u) | ((hb & 3u) << 4u)) - 32);
      let q2 = f32(i32((lo1 & 15u) | (((hb >> 2u) & 3u) << 4u)) - 32);
      let q3 = f32(i32((lo0 >> 4u) | (((hb >> 4u) & 3u) << 4u)) - 32);
      let q4 = f32(i32((lo1 >> 4u) | (((hb >> 6u) & 3u) << 4u)) - 32);
      total += d * (f32(i8At(sc + is)) * q1 * x[y + l] + f32(i8At(sc + is + 2u)) * q2 * x[y + l + 32u]
        + f32(i8At(sc + is + 4u)) * q3 * x[y + l + 64u] + f32(i8At(sc + is + 6u)) * q4 * x[y + l + 96u]);
    }
  }
  return total;
}`,
};

const CODE = (type: BlockType, perInvocation: boolean) => {
  const { blockSize, typeSize } = ggmlBlockInfo(type);
  const header = `
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<u32>;
fn byteAt(o: u32) -> u32 { return (W[o >> 2u] >> ((o & 3u) * 8u)) & 255u; }
fn i8At(o: u32) -> i32 { return i32(byteAt(o) << 24u) >> 24u; }
fn word2(o: u32) -> u32 { // four bytes from an even offset
  let w = W[o >> 2u];
  if ((o & 2u) == 0u) { return w; }
  return (w >> 16u) | (W[(o >> 2u) + 1u] << 16u);
}
fn halfAt(o: u32) -> f32 { return unpack2x16float(byteAt(o) | (byteAt(o + 1u) << 8u)).x; }
${BLOCK_DOT[type]}`;
  if (perInvocation) {
    // CPU adapters (lavapipe) run a workgroup's invocations as SIMD lanes: one output per invocation, no barriers.
    return `${header}
${ELEMENT_MAIN}
  let n = pu(0u);
  let k = pu(1u);
  if (i >= n * pu(2u)) { return; }
  let xb = pu(3u) + (i / n) * k;
  let rb = (i % n) * pu(4u);
  var s = 0.0;
  for (var b = 0u; b < k / ${blockSize}u; b++) { s += blockDot(rb + b * ${typeSize}u, xb + b * ${blockSize}u); }
  out[i] = s;
}`;
  }
  return `${header}
${ROW_REDUCE}
${ROW_MAIN}
  let n = pu(0u);
  let k = pu(1u);
  if (row >= n * pu(2u)) { return; }
  let i = row / n;
  let r = row - i * n;
  let xb = pu(3u) + i * k;
  let rb = r * pu(4u);
  var s = 0.0;
  for (var b = li; b < k / ${blockSize}u; b += 128u) { s += blockDot(rb + b * ${typeSize}u, xb + b * ${blockSize}u); }
  s = rowSum(s, li);
  if (li == 0u) { out[row] = s; }
}`;
};

let variantOverride: 'workgroup' | 'invocation' | undefined;

/** Forces one kernel variant (tests run both on any adapter); undefined restores the choice by adapter kind. */
export function setBlockMatmulVariant(v: 'workgroup' | 'invocation' | undefined): void {
  variantOverride = v;
}

/** out [m, n] = x [m, k] · Wᵀ with W [n, k] in `type`'s bytes held by `weight` (see Backend.blockMatmul). */
export function blockMatmul(
  rt: Runtime,
  x: View,
  weight: GpuStorage,
  type: BlockType,
  n: number,
  k: number,
): GpuStorage {
  const m = k === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / k;
  const out = rt.alloc('float32', m * n);
  if (m * n === 0) return out;
  const { blockSize, typeSize } = ggmlBlockInfo(type);
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const perInvocation = variantOverride ? variantOverride === 'invocation' : rt.cpuAdapter;
  const p = rt.pipeline(`blockMatmul:${type}:${perInvocation}`, () => CODE(type, perInvocation));
  const groups = perInvocation ? Math.ceil((m * n) / 128) : m * n;
  rt.dispatch(p, [out, xv.storage as GpuStorage, weight], [n, k, m, xv.offset, (k / blockSize) * typeSize], groups);
  freeAll(rt, temps);
  return out;
}
