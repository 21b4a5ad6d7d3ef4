import type { Storage, View } from '../backend/backend.js';
import { allocCpu, cpuData, forEachRow, readView, shapeSize } from './storage.js';

/**
 * Batched matmul, i-k-j loop order so the innermost loop streams rows of b and out. Operands whose matrix part is not
 * row-major are copied to contiguous first (the copy is O(size) against O(M·K·N) work).
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
  const A = matrixRowMajor(a);
  const B = matrixRowMajor(b);
  // Visit batch indices via the (possibly broadcast, stride-0) batch strides of each operand.
  const aBatchStrides = A.view.strides.slice(0, -2);
  const bBatchStrides = B.view.strides.slice(0, -2);
  const aBases: number[] = [];
  const bBases: number[] = [];
  collectBases(batchShape, aBatchStrides, A.view.offset, aBases);
  collectBases(batchShape, bBatchStrides, B.view.offset, bBases);
  const acc = new Float64Array(N);
  // Locals keep the hot loop monomorphic (the views' data may be either typed-array class).
  const Ad = A.data as Float32Array;
  const Bd = B.data as Float32Array;
  for (let bi = 0; bi < batch; bi++) {
    const aBase = aBases[bi]!;
    const bBase = bBases[bi]!;
    const oBase = bi * M * N;
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      const aRow = aBase + i * K;
      for (let k = 0; k < K; k++) {
        const aik = Ad[aRow + k]!;
        const bRow = bBase + k * N;
        for (let j = 0; j < N; j++) acc[j]! += aik * Bd[bRow + j]!;
      }
      for (let j = 0; j < N; j++) o[oBase + i * N + j] = acc[j]!;
    }
  }
  return out;
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
 * A view whose last two dims are row-major (stride [cols, 1]) with its data array; batch dims keep their strides
 * (including stride 0 for broadcast dims), so broadcast operands are not materialised.
 */
function matrixRowMajor(v: View): { view: View; data: Float32Array | Int32Array } {
  const r = v.shape.length;
  const rows = v.shape[r - 2]!;
  const cols = v.shape[r - 1]!;
  const matrixOk = (cols === 1 || v.strides[r - 1] === 1) && (rows === 1 || v.strides[r - 2] === cols);
  if (matrixOk) return { view: v, data: cpuData(v.storage) };
  // Copy only the distinct batch entries: collapse broadcast (stride 0) batch dims to size 1 for the copy.
  const batchShape = v.shape.slice(0, -2);
  const distinctShape = batchShape.map((d, i) => (v.strides[i] === 0 ? 1 : d));
  const copyView: View = { ...v, shape: [...distinctShape, rows, cols] };
  const data = readView(copyView);
  const strides: number[] = [];
  let s = rows * cols;
  for (let i = distinctShape.length - 1; i >= 0; i--) {
    strides[i] = v.strides[i] === 0 ? 0 : s;
    s *= distinctShape[i]!;
  }
  return { view: { storage: v.storage, shape: v.shape, strides: [...strides, cols, 1], offset: 0 }, data };
}
