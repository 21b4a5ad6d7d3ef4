/**
 * The CPU side of the grouped linear kernels (see `webgpu/kernels/matmul-parts.ts` for why they exist): here a
 * dispatch costs nothing, so each runs the CPU matmul per part and lays the results out as the WebGPU kernels do.
 *
 * @module
 */
import type { Storage, View } from '../backend/backend.js';
import { cpuMatmulKernels, matmul } from './matmul.js';
import { type RowPart, wasmRowParts } from './matmul-wasm.js';
import { allocCpu, CpuStorage, cpuData, readView } from './storage.js';
import { releaseCpuStorage } from './wasm-heap.js';

/** A 2-D view's transpose (swapped strides, no copy). */
function transposed(v: View): View {
  return {
    storage: v.storage,
    shape: [v.shape[1]!, v.shape[0]!],
    strides: [v.strides[1]!, v.strides[0]!],
    offset: v.offset,
  };
}

/**
 * Rows against weights that live in wasm memory: all parts through {@link wasmRowParts} (x copied in and packed once,
 * outputs straight into `out`). False when the SIMD kernels are not chosen or a weight is not (yet) in place.
 */
function partsInPlace(x: View, weights: readonly View[], out: Float32Array): boolean {
  const [M, K] = x.shape as [number, number];
  if (cpuMatmulKernels() !== 'wasm' || x.strides[1] !== 1 || (M > 1 && x.strides[0] !== K)) return false;
  const parts: RowPart[] = [];
  for (const w of weights) {
    if (!(w.storage instanceof CpuStorage) || w.strides[0] !== K || w.strides[1] !== 1) return false;
    parts.push({ storage: w.storage, offset: w.offset, n: w.shape[0]! });
  }
  return wasmRowParts(cpuData(x.storage) as Float32Array, x.offset, M, K, parts, out);
}

/** x `[M, K]` · W_pᵀ per weight `[N_p, K]`, part after part in one storage; plus `residual` `[M, N]` (one weight). */
export function linearParts(x: View, weights: readonly View[], residual: View | null): Storage {
  const M = x.shape[0]!;
  const total = weights.reduce((n, w) => n + M * w.shape[0]!, 0);
  const out = allocCpu('float32', total, false);
  const o = out.data as Float32Array; // a typed local (see rms-norm.ts)
  if (!partsInPlace(x, weights, o)) {
    let at = 0;
    for (const w of weights) {
      const product = matmul(x, transposed(w), []) as CpuStorage;
      o.set(product.data, at);
      at += product.size;
      releaseCpuStorage(product); // a kernel output no tensor holds: its array goes back to the pool or the heap
    }
  }
  if (residual !== null) {
    const r = readView(residual) as Float32Array;
    for (let i = 0; i < r.length; i++) o[i] = o[i]! + r[i]!;
  }
  return out;
}

/** Σ_p dy_p `[M, N_p]` · W_p `[N_p, K]` → `[M, K]`. */
export function linearPartsInputGrad(dys: readonly View[], weights: readonly View[]): Storage {
  const out = allocCpu('float32', dys[0]!.shape[0]! * weights[0]!.shape[1]!);
  dys.forEach((dy, i) => {
    const product = matmul(dy, weights[i]!, []) as CpuStorage;
    const part = product.data;
    for (let j = 0; j < part.length; j++) out.data[j] = out.data[j]! + part[j]!;
    releaseCpuStorage(product); // as in linearParts: a kernel output no tensor holds
  });
  return out;
}

/** dy_pᵀ · x for each dy_p `[M, N_p]`, x `[M, K]` → `[N_p, K]` each. */
export function linearPartsWeightGrad(dys: readonly View[], x: View): Storage[] {
  return dys.map((dy) => matmul(transposed(dy), x, []));
}
