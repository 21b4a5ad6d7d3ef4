/**
 * RMSNorm forward and backward. The forward and dx give each row a lane group of a row variant (`row-variants.ts`,
 * tuned as the `rows` family); dweight (a sum over rows) is reduced
 * in two passes — per-chunk partial sums, then the generic column reduction — so no float atomics are needed.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { f32bits } from '../runtime.js';
import { reduce } from './reduce.js';
import { contiguousInput, freeAll } from './row.js';
import { type RowVariant, rowGroups, rowKernel, rowVariant, rowVariantKey } from './row-variants.js';

/** The row kernel of variant `v` (decls first: a subgroup variant's `enable` must open the shader). */
const rowCode = (v: RowVariant, bindings: string, body: string) => {
  const k = rowKernel(v, 'pu(0u)');
  return `${k.decls}\n${bindings}\n${k.main}\n${body}\n}`;
};

const FORWARD = (v: RowVariant) =>
  rowCode(
    v,
    `@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;`,
    `  let D = pu(1u);
  let base = pu(2u) + row * D;
  let wb = pu(3u);
  var ss = 0.0;
  for (var j = lane; j < D; j += LANES) { let v = x[base + j]; ss += v * v; }
  ss = rowSum(ss, li);
  let r = inverseSqrt(ss / f32(D) + pf(4u));
  if (!live) { return; }
  if (lane == 0u) { rstd[row] = r; }
  for (var j = lane; j < D; j += LANES) { y[row * D + j] = x[base + j] * r * w[wb + j]; }`,
  );

// Residual add fused in: sum = x + r is written once and normalised from registers of the same pass.
const ADD_FORWARD = (v: RowVariant) =>
  rowCode(
    v,
    `@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> sum: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> res: array<f32>;
@group(0) @binding(6) var<storage, read> w: array<f32>;`,
    `  let D = pu(1u);
  let base = pu(2u) + row * D;
  let rb = pu(5u) + row * D;
  let wb = pu(3u);
  var ss = 0.0;
  for (var j = lane; j < D; j += LANES) {
    let v = x[base + j] + res[rb + j];
    if (live) { sum[row * D + j] = v; }
    ss += v * v;
  }
  ss = rowSum(ss, li);
  let r = inverseSqrt(ss / f32(D) + pf(4u));
  if (!live) { return; }
  if (lane == 0u) { rstd[row] = r; }
  for (var j = lane; j < D; j += LANES) { y[row * D + j] = sum[row * D + j] * r * w[wb + j]; }`,
  );

const BACKWARD_DX = (v: RowVariant) =>
  rowCode(
    v,
    `@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;`,
    `  let D = pu(1u);
  let xb = pu(2u) + row * D;
  let gb = pu(3u) + row * D;
  let wb = pu(4u);
  let r = rstd[pu(5u) + row];
  var dot = 0.0;
  for (var j = lane; j < D; j += LANES) { dot += dy[gb + j] * w[wb + j] * x[xb + j]; }
  dot = rowSum(dot, li);
  let c = r * r * r * dot / f32(D);
  if (!live) { return; }
  for (var j = lane; j < D; j += LANES) { dx[row * D + j] = r * dy[gb + j] * w[wb + j] - x[xb + j] * c; }`,
  );

// Pass 1 of dweight: partial[chunk, j] = Σ over the chunk's rows of dy·x·rstd.
const BACKWARD_DW = `
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let D = pu(1u);
  let j = wid.x * 128u + li;
  if (j >= D) { return; }
  let rows = pu(0u);
  let chunk = pu(6u);
  let r0 = wid.y * chunk;
  let r1 = min(rows, r0 + chunk);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc += dy[pu(3u) + r * D + j] * x[pu(2u) + r * D + j] * rstd[pu(5u) + r];
  }
  partial[wid.y * D + j] = acc;
}`;

/** y = x · rsqrt(mean(x²) + eps) · weight over the last axis; also rstd per row. */
export function rmsNorm(rt: Runtime, x: View, weight: View, eps: number): { y: GpuStorage; rstd: GpuStorage } {
  const D = x.shape.at(-1) ?? 1;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = D === 0 ? 0 : size / D;
  const y = rt.alloc('float32', size);
  const rstd = rt.alloc('float32', rows);
  if (size === 0) return { y, rstd };
  const temps: GpuStorage[] = [];
  const xv = contiguousInput(rt, x, temps);
  const wv = contiguousInput(rt, weight, temps);
  const v = rowVariant(rt, { op: 'rmsnorm', rows, cols: D });
  const p = rt.pipeline(`rmsnorm:fwd:${rowVariantKey(v)}`, () => FORWARD(v));
  rt.dispatch(
    p,
    [y, rstd, xv.storage, wv.storage] as GpuStorage[],
    [rows, D, xv.offset, wv.offset, f32bits(eps)],
    rowGroups(v, rows),
  );
  freeAll(rt, temps);
  return { y, rstd };
}

/** dx [rows, D] and dweight [D] of rmsNorm. */
export function rmsNormBackward(
  rt: Runtime,
  dy: View,
  x: View,
  weight: View,
  rstd: View,
): { dx: GpuStorage; dweight: GpuStorage } {
  const D = x.shape.at(-1) ?? 1;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const rows = D === 0 ? 0 : size / D;
  const dx = rt.alloc('float32', size);
  if (size === 0) return { dx, dweight: rt.alloc('float32', D) };
  const temps: GpuStorage[] = [];
  const g = contiguousInput(rt, dy, temps);
  const xv = contiguousInput(rt, x, temps);
  const wv = contiguousInput(rt, weight, temps);
  const rv = contiguousInput(rt, rstd, temps);
  const v = rowVariant(rt, { op: 'rmsnorm', rows, cols: D });
  const pdx = rt.pipeline(`rmsnorm:dx:${rowVariantKey(v)}`, () => BACKWARD_DX(v));
  const params = [rows, D, xv.offset, g.offset, wv.offset, rv.offset];
  const storages = [dx, g.storage, xv.storage, wv.storage, rv.storage] as GpuStorage[];
  rt.dispatch(pdx, storages, params, rowGroups(v, rows));
  const chunk = Math.max(16, Math.ceil(rows / 64));
  const chunks = Math.ceil(rows / chunk);
  const partial = rt.alloc('float32', chunks * D);
  const pdw = rt.pipeline('rmsnorm:dw', () => BACKWARD_DW);
  const dwParams = [rows, D, xv.offset, g.offset, 0, rv.offset, chunk];
  rt.dispatch(pdw, [partial, g.storage, xv.storage, rv.storage] as GpuStorage[], dwParams, [
    Math.ceil(D / 128),
    chunks,
    1,
  ]);
  const dweight = reduce(rt, 'sum', { storage: partial, shape: [chunks, D], strides: [D, 1], offset: 0 }, [0]);
  rt.free(partial);
  freeAll(rt, temps);
  return { dx, dweight };
}

/** sum = x + residual and rmsNorm(sum) in one dispatch; x, residual [rows, D], weight [D]. */
export function addRmsNorm(
  rt: Runtime,
  x: View,
  residual: View,
  weight: View,
  eps: number,
): { sum: GpuStorage; y: GpuStorage; rstd: GpuStorage } {
  const [rows, D] = x.shape as [number, number];
  const sum = rt.alloc('float32', rows * D);
  const y = rt.alloc('float32', rows * D);
  const rstd = rt.alloc('float32', rows);
  if (rows === 0) return { sum, y, rstd };
  const temps: GpuStorage[] = [];
  const [xv, rv, wv] = [x, residual, weight].map((v) => contiguousInput(rt, v, temps)) as [View, View, View];
  const storages = [y, rstd, sum, xv.storage, rv.storage, wv.storage] as GpuStorage[];
  const params = [rows, D, xv.offset, wv.offset, f32bits(eps), rv.offset];
  const v = rowVariant(rt, { op: 'rmsnorm', rows, cols: D });
  rt.dispatch(
    rt.pipeline(`rmsnorm:add-fwd:${rowVariantKey(v)}`, () => ADD_FORWARD(v)),
    storages,
    params,
    rowGroups(v, rows),
  );
  freeAll(rt, temps);
  return { sum, y, rstd };
}
