import { isHalf, type Storage, type View } from '../backend/backend.js';
import { sizeOf, stridesOf } from '../shape.js';
import { readFloat32 } from './half.js';
import { HALF_DOT_MAX_ROWS, halfRowsMatmul } from './half-matmul.js';
import { dotForm, rowForm } from './matmul-kernels.js';
import { productOutput, wasmMatmul } from './matmul-wasm.js';
import { allocCpu, CpuStorage, cpuData, forEachRow, readView } from './storage.js';
import { heapBlock, noteMatmulOperand } from './wasm-heap.js';

/** The kernels {@link matmul} runs: `wasm` (WebAssembly SIMD, float32 lanes) where available, else `js`. */
export type CpuMatmulKernels = 'wasm' | 'js';

let preferred: CpuMatmulKernels = 'wasm';

/**
 * Chooses the CPU matmul kernels (tests run both; `js` is also the fallback when WebAssembly SIMD is unavailable).
 * Returns the previous choice.
 */
export function setCpuMatmulKernels(kernels: CpuMatmulKernels): CpuMatmulKernels {
  const previous = preferred;
  preferred = kernels;
  return previous;
}

/** The kernels chosen by {@link setCpuMatmulKernels} (the block-weight matmul follows the same choice). */
export function cpuMatmulKernels(): CpuMatmulKernels {
  return preferred;
}

/**
 * Batched matmul, tiled so that batching rows costs far less than one pass over b per row. Two implementations:
 * - `wasm` (default): WebAssembly SIMD kernels (matmul-wasm.ts) over a copy of a and b read in place when it is a
 *   weight living in wasm memory (else copied), float32 accumulation, ~4× the scalar rate; an element's value does
 *   not depend on M, N or the tile that computed it;
 * - `js`: 4 × 4 register-blocked scalar tiles with float64 accumulation (matmul-kernels.ts), b read in place:
 *   row-major b packed into [K][4] column panels, column-major b (a transposed [N, K] weight, the usual Linear
 *   layout) as dot products of rows.
 * Broadcast batch dims are read through stride 0; operands in any other layout are copied to row-major first
 * (O(size) against O(M·K·N) work).
 */
export function matmul(a: View, b: View, batchShape: readonly number[]): Storage {
  if (isHalf(b.storage.dtype) && a.shape[a.shape.length - 2]! <= HALF_DOT_MAX_ROWS) {
    return halfRowsMatmul(a, b, batchShape, preferred === 'wasm');
  }
  if (isHalf(a.storage.dtype) || isHalf(b.storage.dtype)) return matmul(decoded(a), decoded(b), batchShape);
  const rank = a.shape.length;
  const M = a.shape[rank - 2]!;
  const K = a.shape[rank - 1]!;
  const N = b.shape[b.shape.length - 1]!;
  const batch = sizeOf(batchShape);
  // An empty sum (K = 0) is 0 (the SIMD kernels' loop bounds assume K ≥ 4 after padding).
  if (batch === 0 || M === 0 || N === 0 || K === 0) return allocCpu('float32', batch * M * N);
  const A = matrixIn(a, false);
  let B = matrixIn(b, true);
  // A weight (b read again at the same version) moves into wasm memory, where the kernels read it in place.
  if (preferred === 'wasm' && b.storage instanceof CpuStorage && b.storage.data === B.data) {
    const before = B.data;
    noteMatmulOperand(b.storage, K);
    if (b.storage.data !== before) B = matrixIn(b, true);
  }
  // Visit batch indices via the (possibly broadcast, stride-0) batch strides of each operand.
  const aBases: number[] = [];
  const bBases: number[] = [];
  collectBases(batchShape, A.view.strides.slice(0, -2), A.view.offset, aBases);
  collectBases(batchShape, B.view.strides.slice(0, -2), B.view.offset, bBases);
  // The kernels may read b in place only when B.data is its storage's own array, not a re-laid-out copy.
  const bStorage = b.storage instanceof CpuStorage && b.storage.data === B.data ? b.storage : null;
  // Not zeroed: every kernel below writes each output. A decode step's product by a weight in wasm memory gets an
  // output there, which the kernels write in place.
  const placed = preferred === 'wasm' ? productOutput(M, N, batch, bStorage) : undefined;
  const out = placed ?? allocCpu('float32', batch * M * N, false);
  const o = out.data as Float32Array;
  const oBlock = placed && heapBlock(placed);
  if (preferred === 'wasm' && wasmMatmul(A.data, aBases, B.data, bBases, B.columnMajor, bStorage, o, M, K, N, oBlock)) {
    return out;
  }
  for (let bi = 0; bi < batch; bi++) {
    const oBase = bi * M * N;
    if (B.columnMajor) dotForm(A.data, aBases[bi]!, B.data, bBases[bi]!, o, oBase, M, K, N);
    else rowForm(A.data, aBases[bi]!, B.data, bBases[bi]!, o, oBase, M, K, N);
  }
  return out;
}

/**
 * A half operand decoded to a float32 copy (exact), so the float32 kernels multiply and accumulate its values. A view
 * that covers a compact range of its storage (a weight, or its transpose) keeps its strides over a decoded copy of
 * that range, so the kernels see the layout they would for float32; any other view is decoded row-major.
 */
function decoded(v: View): View {
  if (!isHalf(v.storage.dtype)) return v;
  const s = v.storage as CpuStorage;
  let span = 1;
  for (let i = 0; i < v.shape.length; i++) span += (v.shape[i]! - 1) * v.strides[i]!;
  if (v.strides.every((st) => st >= 0) && span <= sizeOf(v.shape) && sizeOf(v.shape) > 0) {
    const values = readFloat32({ storage: s, shape: [span], strides: [1], offset: v.offset });
    return { storage: new CpuStorage('float32', values), shape: v.shape, strides: v.strides, offset: 0 };
  }
  const r = v.shape.length;
  const distinct = v.shape.map((d, i) => (i < r - 2 && v.strides[i] === 0 ? 1 : d));
  const values = readFloat32({ ...v, shape: distinct });
  const dense = stridesOf(distinct);
  const strides = dense.map((st, i) => (i < r - 2 && v.strides[i] === 0 ? 0 : st));
  return { storage: new CpuStorage('float32', values), shape: v.shape, strides, offset: 0 };
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
