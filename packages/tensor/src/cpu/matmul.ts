import type { Storage, View } from '../backend/backend.js';
import { allocCpu, cpuData, forEachRow, readView, shapeSize } from './storage.js';

/**
 * Batched matmul with float64 accumulation. Two loop forms, chosen by b's layout:
 * - b row-major: i-k-j, the innermost loop streaming a row of b into a row accumulator (k unrolled by 4);
 * - b column-major (a transposed weight, the usual Linear layout): i-j-k dot products of two contiguous rows.
 * Operands in any other layout are copied to row-major first (O(size) against O(M·K·N) work).
 */
export function matmul(a: View, b: View, batchShape: readonly number[]): Storage {
  const rank = a.shape.length;
  const M = a.shape[rank - 2]!;
  const K = a.shape[rank - 1]!;
  const N = b.shape[b.shape.length - 1]!;
  const batch = shapeSize(batchShape);
  const out = allocCpu('float32', batch * M * N);
  const o = out.data as Float32Array;
  if (batch === 0 || M === 0 || N === 0) return out;
  const A = matrixIn(a, false);
  const B = matrixIn(b, true);
  // Visit batch indices via the (possibly broadcast, stride-0) batch strides of each operand.
  const aBases: number[] = [];
  const bBases: number[] = [];
  collectBases(batchShape, A.view.strides.slice(0, -2), A.view.offset, aBases);
  collectBases(batchShape, B.view.strides.slice(0, -2), B.view.offset, bBases);
  for (let bi = 0; bi < batch; bi++) {
    const oBase = bi * M * N;
    if (B.columnMajor) dotForm(A.data, aBases[bi]!, B.data, bBases[bi]!, o, oBase, M, K, N);
    else rowForm(A.data, aBases[bi]!, B.data, bBases[bi]!, o, oBase, M, K, N);
  }
  return out;
}

/** out[i, :] = Σ_k a[i, k]·b[k, :] with b row-major [K, N]. */
function rowForm(
  Ad: Float32Array,
  aBase: number,
  Bd: Float32Array,
  bBase: number,
  o: Float32Array,
  oBase: number,
  M: number,
  K: number,
  N: number,
): void {
  const acc = new Float64Array(N);
  const K4 = K - (K % 4);
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    const aRow = aBase + i * K;
    let k = 0;
    for (; k < K4; k += 4) {
      const a0 = Ad[aRow + k]!;
      const a1 = Ad[aRow + k + 1]!;
      const a2 = Ad[aRow + k + 2]!;
      const a3 = Ad[aRow + k + 3]!;
      const r0 = bBase + k * N;
      const r1 = r0 + N;
      const r2 = r1 + N;
      const r3 = r2 + N;
      for (let j = 0; j < N; j++) acc[j]! += a0 * Bd[r0 + j]! + a1 * Bd[r1 + j]! + a2 * Bd[r2 + j]! + a3 * Bd[r3 + j]!;
    }
    for (; k < K; k++) {
      const ak = Ad[aRow + k]!;
      const r = bBase + k * N;
      for (let j = 0; j < N; j++) acc[j]! += ak * Bd[r + j]!;
    }
    o.set(acc, oBase + i * N);
  }
}

/** out[i, j] = Σ_k a[i, k]·bt[j, k] with b stored column-major (bt row-major [N, K]). */
function dotForm(
  Ad: Float32Array,
  aBase: number,
  Bd: Float32Array,
  bBase: number,
  o: Float32Array,
  oBase: number,
  M: number,
  K: number,
  N: number,
): void {
  const K4 = K - (K % 4);
  for (let i = 0; i < M; i++) {
    const aRow = aBase + i * K;
    for (let j = 0; j < N; j++) {
      const bRow = bBase + j * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k < K4; k += 4) {
        s0 += Ad[aRow + k]! * Bd[bRow + k]!;
        s1 += Ad[aRow + k + 1]! * Bd[bRow + k + 1]!;
        s2 += Ad[aRow + k + 2]! * Bd[bRow + k + 2]!;
        s3 += Ad[aRow + k + 3]! * Bd[bRow + k + 3]!;
      }
      for (; k < K; k++) s0 += Ad[aRow + k]! * Bd[bRow + k]!;
      o[oBase + i * N + j] = s0 + s1 + s2 + s3;
    }
  }
}

/** Batch-start element offsets for every batch index, in row-major batch order. */
function collectBases(shape: readonly number[], strides: readonly number[], offset: number, out: number[]): void {
  if (shape.length === 0) {
    out.push(offset);
    return;
  }
  forEachRow(shape, strides, offset, (base, count, stride) => {
    for (let j = 0; j < count; j++) out.push(base + j * stride);
  });
}

/**
 * A matrix operand as (data, view) where each matrix is row-major ([rows, cols] with strides [cols, 1]) or, when
 * `allowColumnMajor`, column-major (strides [1, rows]). Batch dims keep their strides (stride 0 for broadcast dims,
 * so broadcast operands are not materialised); other layouts are copied.
 */
function matrixIn(v: View, allowColumnMajor: boolean): { view: View; data: Float32Array; columnMajor: boolean } {
  const r = v.shape.length;
  const rows = v.shape[r - 2]!;
  const cols = v.shape[r - 1]!;
  const rowMajor = (cols === 1 || v.strides[r - 1] === 1) && (rows === 1 || v.strides[r - 2] === cols);
  if (rowMajor) return { view: v, data: cpuData(v.storage) as Float32Array, columnMajor: false };
  const colMajor = (rows === 1 || v.strides[r - 2] === 1) && (cols === 1 || v.strides[r - 1] === rows);
  if (allowColumnMajor && colMajor) return { view: v, data: cpuData(v.storage) as Float32Array, columnMajor: true };
  // Copy only the distinct batch entries: collapse broadcast (stride 0) batch dims to size 1 for the copy.
  const batchShape = v.shape.slice(0, -2);
  const distinctShape = batchShape.map((d, i) => (v.strides[i] === 0 ? 1 : d));
  const data = readView({ ...v, shape: [...distinctShape, rows, cols] }) as Float32Array;
  const strides: number[] = [];
  let s = rows * cols;
  for (let i = distinctShape.length - 1; i >= 0; i--) {
    strides[i] = v.strides[i] === 0 ? 0 : s;
    s *= distinctShape[i]!;
  }
  return {
    view: { storage: v.storage, shape: v.shape, strides: [...strides, cols, 1], offset: 0 },
    data,
    columnMajor: false,
  };
}
