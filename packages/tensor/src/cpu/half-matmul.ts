/**
 * Few-row products against a float16 / bfloat16 b on the CPU (decode steps: a projection's weight, a half KV cache):
 * b's bits are decoded inside the dot product — by the WebAssembly SIMD kernel (half-dot-wasm.ts) when b is
 * K-contiguous (a Linear weight), else by table lookup — so a step never makes a float32 copy of the weight (for many
 * rows, matmul.ts decodes b once and runs the float32 SIMD kernels instead).
 *
 * @module
 */
import type { HalfDType, View } from '../backend/backend.js';
import { halfValueTable } from '../formats/half-precision.js';
import { sizeOf } from '../shape.js';
import { readFloat32 } from './half.js';
import { halfDotRows } from './half-dot-wasm.js';
import { allocCpu, type CpuStorage, cpuStorage, forEachRow } from './storage.js';
import { noteMatmulOperand } from './wasm-heap.js';

/** Largest M that takes the in-place path. */
export const HALF_DOT_MAX_ROWS = 4;

/**
 * out[z, m, n] = Σ_k a[z, m, k] · b[z, k, n] with b half (any strides) and a float32 or half; sums in float64 over
 * exactly decoded values in the scalar kernel, in float32 lanes in the SIMD one. Batch dims already broadcast. `simd`
 * allows the WebAssembly kernel (matmul's `setCpuMatmulKernels('js')` turns it off).
 */
export function halfRowsMatmul(a: View, b: View, batchShape: readonly number[], simd: boolean): CpuStorage {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = a.shape[ra - 2]!;
  const K = a.shape[ra - 1]!;
  const N = b.shape[rb - 1]!;
  const batch = sizeOf(batchShape);
  const out = allocCpu('float32', batch * M * N);
  const o = out.data as Float32Array;
  const A = readFloat32(a); // [batch, M, K] row-major (small: M ≤ 4 rows per batch entry)
  const bs = cpuStorage(b.storage);
  if (N === 0 || M === 0) return out;
  const sBk = b.strides[rb - 2]!;
  const sBn = b.strides[rb - 1]!;
  // A weight (read again at the same version) moves into wasm memory, where the SIMD kernel reads it in place.
  if (simd && sBk === 1) noteMatmulOperand(bs, K);
  const W = bs.data as Uint16Array;
  const table = halfValueTable(bs.dtype as HalfDType);
  const bases: number[] = [];
  if (batchShape.length === 0) bases.push(b.offset);
  else {
    forEachRow(batchShape, b.strides.slice(0, -2), b.offset, (base, count, stride) => {
      for (let j = 0; j < count; j++) bases.push(base + j * stride);
    });
  }
  const K4 = K - (K % 4);
  for (let z = 0; z < batch; z++) {
    // A K-contiguous b (a Linear weight [N, K], or a key cache read transposed) takes the SIMD kernel.
    if (
      simd &&
      K > 0 &&
      (sBk === 1 || K === 1) &&
      halfDotRows(bs, A, z * M * K, M, bases[z]!, sBn, N, K, o, z * M * N)
    ) {
      continue;
    }
    for (let m = 0; m < M; m++) {
      const aRow = (z * M + m) * K;
      const oRow = (z * M + m) * N;
      for (let n = 0; n < N; n++) {
        let w = bases[z]! + n * sBn;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let k = 0;
        for (; k < K4; k += 4, w += 4 * sBk) {
          s0 += A[aRow + k]! * table[W[w]!]!;
          s1 += A[aRow + k + 1]! * table[W[w + sBk]!]!;
          s2 += A[aRow + k + 2]! * table[W[w + 2 * sBk]!]!;
          s3 += A[aRow + k + 3]! * table[W[w + 3 * sBk]!]!;
        }
        for (; k < K; k++, w += sBk) s0 += A[aRow + k]! * table[W[w]!]!;
        o[oRow + n] = s0 + s1 + s2 + s3;
      }
    }
  }
  return out;
}
