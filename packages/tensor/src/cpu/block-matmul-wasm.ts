/**
 * x · Wᵀ for block-format weights on the WebAssembly SIMD kernels (wasm-block-kernels.ts). The weight's bytes move
 * into wasm memory on first use (wasm-heap.ts) and are read there in place; per call, only the activations are
 * written into the work area at the bottom of wasm memory: for the integer kernels quantized to int8 per 32-element
 * block as llama.cpp's Q8_0 does (scale dx = max|x| / 127, q = round(x / dx)) with the block's float sum Σx beside
 * dx, for half weights as float32. Rows of x go four at a time through the kernels, so a weight unit is decoded
 * once for up to four rows; with more rows, weight rows go in chunks that stay in cache while every row tile passes.
 * The product runs as a range kernel over runs of weight rows (block-rows.ts), which the CPU helper threads share
 * (cpu-threads.ts) as they share the float32 products.
 *
 * @module
 */
import type { BlockType } from '../backend/backend.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../formats/half-precision.js';
import { BLOCK_ROW_TYPES, BLOCK_ROWS, BLOCK_ROWS_BYTES, BLOCK_ROWS_CHUNK, blockRows } from './block-rows.js';
import { runRangeKernel } from './cpu-threads.js';
import type { CpuStorage } from './storage.js';
import { activationBytes, BLOCK_UNITS, isInt8, wasmBlockKernels } from './wasm-block-kernels.js';
import { ensureMemory, moveWordsToHeap, WORK_BYTES } from './wasm-heap.js';

/** Byte address of a call's block-product parameters (block-rows.ts): the bottom of the work area. */
const PARAMS = 0;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * out [m, n] = x [m, k] (float32 at `xOffset` of xs, row-major) · Wᵀ with W [n, k] the `type` bytes in `weight`.
 * Half weights whose k is not a multiple of 16 (the kernels take 16 at a time) get their last columns added here in
 * float64. Returns false, having written nothing, when the kernels or wasm
 * memory are unavailable for this weight (the caller then runs the JS kernels).
 */
export function wasmBlockMatmul(
  type: BlockType,
  weight: CpuStorage,
  xs: Float32Array,
  xOffset: number,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): boolean {
  const kernels = wasmBlockKernels();
  if (!kernels) return false;
  const block = moveWordsToHeap(weight);
  if (!block) return false;
  const unit = kernels.unit(type);
  const int8 = isInt8(unit);
  const units = Math.floor(k / unit.elements);
  const kUnits = units * unit.elements;
  const wStride = ggmlByteSize(type, k);
  const rowBytes = units * unit.bytes;
  // Per row of x: its activations (16-byte aligned), its [dx, Σx] pairs, its outputs.
  const xStride = roundUp((activationBytes(unit) / unit.elements) * kUnits, 16);
  const xsStride = int8 ? 8 * (kUnits / 32) : 0;
  const oStride = roundUp(4 * n, 16);
  // The integer kernels' float32 activations are copied in (fStride per row) to be quantized there.
  const fStride = int8 ? 4 * kUnits : 0;
  const rowsPerChunk = Math.min(
    m,
    Math.floor((WORK_BYTES - BLOCK_ROWS_BYTES) / (xStride + xsStride + oStride + fStride)),
  );
  if (rowsPerChunk === 0 && m > 0) return false;
  const xBase = PARAMS + BLOCK_ROWS_BYTES;
  const sBase = xBase + rowsPerChunk * xStride;
  const oBase = sBase + rowsPerChunk * xsStride;
  const fBase = oBase + rowsPerChunk * oStride;
  if (!ensureMemory(kernels.memory, fBase + rowsPerChunk * fStride)) return false;
  const buffer = kernels.memory.buffer;
  const w = 4 * block.start;
  const typeIndex = (BLOCK_ROW_TYPES as readonly string[]).indexOf(type);
  if (typeIndex < 0) return false;
  for (let i0 = 0; i0 < m; i0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, m - i0);
    if (unit.activations !== 'float32') {
      copyRows(xs, xOffset + i0 * k, k, kUnits, rows, buffer, fBase, fStride, 1);
      for (let i = 0; i < rows; i++) {
        kernels.quantize(fBase + i * fStride, kUnits / 32, xBase + i * xStride, sBase + i * xsStride, unit.activations);
      }
    }
    const exponent = type === 'F16' ? f16ActivationExponent(xs, xOffset + i0 * k, rows * k) : 0;
    if (!int8) copyRows(xs, xOffset + i0 * k, k, kUnits, rows, buffer, xBase, xStride, 2 ** exponent);
    // The product as a range kernel over runs of weight rows (block-rows.ts), split across the CPU threads.
    const streams = rows === 1 ? unit.decodeStreams : 1;
    const item = rows === 1 ? BLOCK_ROWS_CHUNK * 2 * streams : BLOCK_ROWS_CHUNK;
    const params = new Int32Array(buffer, PARAMS, BLOCK_ROWS_BYTES / 4);
    params[BLOCK_ROWS.TYPE] = typeIndex;
    params[BLOCK_ROWS.ROWS] = rows;
    params[BLOCK_ROWS.X] = xBase;
    params[BLOCK_ROWS.X_STRIDE] = xStride;
    params[BLOCK_ROWS.XS] = sBase;
    params[BLOCK_ROWS.XS_STRIDE] = xsStride;
    params[BLOCK_ROWS.W] = w;
    params[BLOCK_ROWS.W_STRIDE] = wStride;
    params[BLOCK_ROWS.ROW_BYTES] = rowBytes;
    params[BLOCK_ROWS.N] = n;
    params[BLOCK_ROWS.O] = oBase;
    params[BLOCK_ROWS.O_STRIDE] = oStride;
    params[BLOCK_ROWS.STREAMS] = streams;
    params[BLOCK_ROWS.ITEM] = item;
    const run = (at: number, first: number, count: number) =>
      blockRows(kernels.exports, kernels.memory, at, first, count);
    const which = kernels.relaxed ? 'blockRowsRelaxed' : 'blockRows';
    runRangeKernel(which, run, PARAMS, Math.ceil(n / item), rows * n * kUnits);
    const o = new Float32Array(buffer, oBase, (rows * oStride) / 4);
    for (let i = 0; i < rows; i++) out.set(o.subarray((i * oStride) / 4, (i * oStride) / 4 + n), (i0 + i) * n);
    const undo = type === 'F16' ? 2 ** (F16_ACTIVATION_EXPONENT - exponent) : 1;
    if (undo !== 1) {
      for (let at = i0 * n; at < (i0 + rows) * n; at++) out[at] = out[at]! * undo;
    }
  }
  if (kUnits < k) addHalfTail(type === 'BF16', buffer, w, wStride, kUnits, xs, xOffset, m, n, k, out);
  return true;
}

/** out[i, j] += Σ_{c ≥ from} x[i, c]·W[j, c] for half weights (the columns past the kernels' last 16). */
function addHalfTail(
  bf16: boolean,
  buffer: ArrayBufferLike,
  w: number,
  wStride: number,
  from: number,
  xs: Float32Array,
  xOffset: number,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): void {
  const tail = new Float64Array(k - from);
  for (let j = 0; j < n; j++) {
    const halves = new Uint16Array(buffer, w + j * wStride + 2 * from, k - from);
    for (let c = 0; c < tail.length; c++) {
      tail[c] = bf16 ? bfloat16BitsToFloat32(halves[c]!) : float16BitsToFloat32(halves[c]!);
    }
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let c = 0; c < tail.length; c++) s += tail[c]! * xs[xOffset + i * k + from + c]!;
      out[i * n + j] = out[i * n + j]! + s;
    }
  }
}

/**
 * The F16 kernel widens a weight to its value times 2^-112 (wasm-block-bodies.ts) and expects the activations times
 * 2^112, which is exact in float32 and keeps every product's value.
 */
export const F16_ACTIVATION_EXPONENT = 112;

/**
 * The exponent s of the power of two the F16 kernel's activations are multiplied by: F16_ACTIVATION_EXPONENT, unless
 * max|x| · 2^112 could overflow float32 (|x| ≥ 2^12), then the largest s keeping max|x| · 2^s ≤ 2^124, and the
 * outputs are multiplied back by 2^(112 − s). Products of weights ≤ 65504 with such activations stay ≤ 2^28.
 */
function f16ActivationExponent(xs: Float32Array, base: number, count: number): number {
  let amax = 0;
  for (let i = base; i < base + count; i++) amax = Math.max(amax, Math.abs(xs[i]!));
  if (amax < 2 ** 12 || !Number.isFinite(amax)) return F16_ACTIVATION_EXPONENT; // NaN/inf propagate either way
  return Math.min(F16_ACTIVATION_EXPONENT, 124 - Math.ceil(Math.log2(amax)));
}

/** Writes the first `kUnits` columns of `rows` rows of x times `scale` (a power of two) as float32 at x0 + i·xStride. */
function copyRows(
  xs: Float32Array,
  base: number,
  k: number,
  kUnits: number,
  rows: number,
  buffer: ArrayBufferLike,
  x0: number,
  xStride: number,
  scale: number,
): void {
  const f = new Float32Array(buffer, x0, (rows * xStride) / 4);
  for (let i = 0; i < rows; i++) {
    const to = (i * xStride) / 4;
    const from = base + i * k;
    if (scale === 1) f.set(xs.subarray(from, from + kUnits), to);
    else for (let c = 0; c < kUnits; c++) f[to + c] = xs[from + c]! * scale;
  }
}

/**
 * The most the int8 activations of the integer kernels can move each output [m, n] of x [m, k] · Wᵀ (W the `type`
 * bytes [n, k]), for tests and tolerances: each activation moves by at most dx/2 = max|x_block| / 254, times the
 * weight's magnitude: |w| (Q4_K: |d·sc·q| ≤ |w| + |dmin·m|, since Σx of the min term is exact). Zeros for half
 * weights, whose activations stay float32.
 */
export function activationRoundingBound(
  type: BlockType,
  bytes: Uint8Array,
  x: Float32Array,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const bound = new Float64Array(m * n);
  if (!isInt8(BLOCK_UNITS[type])) return bound;
  const w = dequantize(type, bytes, n * k);
  let mins: Float32Array | null = null;
  if (type === 'Q4_K') {
    // The block's d zeroed leaves −dmin·m per element.
    const copy = bytes.slice();
    for (let at = 0; at < copy.length; at += 144) copy[at] = copy[at + 1] = 0;
    mins = dequantize(type, copy, n * k);
  }
  const half = new Float64Array(k / 32);
  for (let i = 0; i < m; i++) {
    half.fill(0);
    for (let j = 0; j < k; j++) half[j >> 5] = Math.max(half[j >> 5]!, Math.abs(x[i * k + j]!) / 254);
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < k; j++)
        s += (Math.abs(w[r * k + j]!) + (mins ? Math.abs(mins[r * k + j]!) : 0)) * half[j >> 5]!;
      bound[i * n + r] = s;
    }
  }
  return bound;
}
