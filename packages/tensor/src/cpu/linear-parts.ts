/**
 * The CPU side of the grouped linear kernels (see `webgpu/kernels/matmul-parts.ts` for why they exist): here a
 * dispatch costs nothing, so each runs the CPU matmul per part and lays the results out as the WebGPU kernels do.
 *
 * @module
 */
import type { Storage, View } from '../backend/backend.js';
import { matmul } from './matmul.js';
import { allocCpu, type CpuStorage, readView } from './storage.js';

/** A 2-D view's transpose (swapped strides, no copy). */
function transposed(v: View): View {
  return {
    storage: v.storage,
    shape: [v.shape[1]!, v.shape[0]!],
    strides: [v.strides[1]!, v.strides[0]!],
    offset: v.offset,
  };
}

/** The float32 elements of a storage the CPU matmul returned, which this file then frees by dropping. */
function values(s: Storage): Float32Array {
  return (s as CpuStorage).data as Float32Array;
}

/** x `[M, K]` · W_pᵀ per weight `[N_p, K]`, part after part in one storage; plus `residual` `[M, N]` (one weight). */
export function linearParts(x: View, weights: readonly View[], residual: View | null): Storage {
  const M = x.shape[0]!;
  const total = weights.reduce((n, w) => n + M * w.shape[0]!, 0);
  const out = allocCpu('float32', total);
  let at = 0;
  for (const w of weights) {
    const part = values(matmul(x, transposed(w), []));
    out.data.set(part, at);
    at += part.length;
  }
  if (residual !== null) {
    const r = readView(residual);
    for (let i = 0; i < r.length; i++) out.data[i] = Math.fround(out.data[i]! + r[i]!);
  }
  return out;
}

/** Σ_p dy_p `[M, N_p]` · W_p `[N_p, K]` → `[M, K]`. */
export function linearPartsInputGrad(dys: readonly View[], weights: readonly View[]): Storage {
  const out = allocCpu('float32', dys[0]!.shape[0]! * weights[0]!.shape[1]!);
  dys.forEach((dy, i) => {
    const part = values(matmul(dy, weights[i]!, []));
    for (let j = 0; j < part.length; j++) out.data[j] = out.data[j]! + part[j]!;
  });
  return out;
}

/** dy_pᵀ · x for each dy_p `[M, N_p]`, x `[M, K]` → `[N_p, K]` each. */
export function linearPartsWeightGrad(dys: readonly View[], x: View): Storage[] {
  return dys.map((dy) => matmul(transposed(dy), x, []));
}
