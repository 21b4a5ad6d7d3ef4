import type { Storage, View } from '../backend/backend.js';
import { cpuMatmulKernels } from './matmul.js';
import { allocCpu, readView, recycleCpu } from './storage.js';
import { simdAddRmsNorm, simdRmsNorm } from './wasm-norms.js';

/**
 * y = x · rstd · w with rstd = 1 / sqrt(mean(x²) + eps) per row. With the SIMD kernels chosen
 * (`setCpuMatmulKernels`) and D a multiple of 4, on wasm-norms.ts: the same float64 arithmetic but for the order of
 * the sum of squares (y within 1 float32 ulp of this loop's).
 */
export function rmsNorm(x: View, weight: View, eps: number): { y: Storage; rstd: Storage } {
  const D = x.shape[x.shape.length - 1]!;
  const src = readView(x);
  const w = readView(weight);
  const rows = D === 0 ? 0 : src.length / D;
  const y = allocCpu('float32', src.length, false);
  const rstd = allocCpu('float32', rows, false);
  // Typed locals: `storage.data` is a union of array types, and indexing it in the loop stays polymorphic in V8.
  const yd = y.data as Float32Array;
  const rd = rstd.data as Float32Array;
  if (cpuMatmulKernels() === 'wasm' && simdRmsNorm(src as Float32Array, w as Float32Array, D, eps, yd, rd)) {
    return { y, rstd };
  }
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    let ss = 0;
    for (let j = 0; j < D; j++) ss += src[base + j]! * src[base + j]!;
    const rs = 1 / Math.sqrt(ss / D + eps);
    rd[r] = rs;
    for (let j = 0; j < D; j++) yd[base + j] = src[base + j]! * rs * w[j]!;
  }
  return { y, rstd };
}

/**
 * The residual add and rmsNorm of a pre-norm block in one call: sum = x + residual (float32), then {@link rmsNorm} of
 * sum, the same floats as the composition with one allocation and pass fewer per call (one SIMD kernel where
 * {@link rmsNorm} takes it).
 */
export function addRmsNorm(
  x: View,
  residual: View,
  weight: View,
  eps: number,
): { sum: Storage; y: Storage; rstd: Storage } {
  const a = readView(x);
  const r = readView(residual);
  const sum = allocCpu('float32', a.length, false);
  const s = sum.data as Float32Array;
  const D = x.shape[x.shape.length - 1]!;
  if (cpuMatmulKernels() === 'wasm' && D > 0) {
    const y = allocCpu('float32', a.length, false);
    const rstd = allocCpu('float32', a.length / D, false);
    const w = readView(weight) as Float32Array;
    const yd = y.data as Float32Array;
    if (simdAddRmsNorm(a as Float32Array, r as Float32Array, w, D, eps, s, yd, rstd.data as Float32Array)) {
      return { sum, y, rstd };
    }
    recycleCpu(y);
    recycleCpu(rstd);
  }
  for (let i = 0; i < a.length; i++) s[i] = a[i]! + r[i]!;
  const view = { storage: sum, shape: [a.length / Math.max(D, 1), D], strides: [D, 1], offset: 0 };
  const { y, rstd } = rmsNorm(view, weight, eps);
  return { sum, y, rstd };
}

/**
 * With g = dy·w: dx = rstd·g − x·rstd³·mean(g·x) and dweight = Σ_rows dy·x·rstd.
 */
export function rmsNormBackward(dy: View, x: View, weight: View, rstd: View): { dx: Storage; dweight: Storage } {
  const D = x.shape[x.shape.length - 1]!;
  const g = readView(dy);
  const src = readView(x);
  const w = readView(weight);
  const rs = readView(rstd);
  const rows = D === 0 ? 0 : src.length / D;
  const dx = allocCpu('float32', src.length);
  const dw = new Float64Array(D);
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    const rr = rs[r]!;
    let dot = 0;
    for (let j = 0; j < D; j++) dot += g[base + j]! * w[j]! * src[base + j]!;
    const c = (rr * rr * rr * dot) / D;
    for (let j = 0; j < D; j++) {
      dx.data[base + j] = rr * g[base + j]! * w[j]! - src[base + j]! * c;
      dw[j]! += g[base + j]! * src[base + j]! * rr;
    }
  }
  const dweight = allocCpu('float32', D);
  dweight.data.set(dw);
  return { dx, dweight };
}
