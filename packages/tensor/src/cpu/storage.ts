import { type DType, isHalf, type Storage, type View } from '../backend/backend.js';
import { isContiguous, sizeOf } from '../shape.js';

/** A CPU storage: a plain typed array on the JS heap. */
export class CpuStorage implements Storage {
  readonly backend = 'cpu' as const;
  readonly size: number;
  /** Bumped by every in-place write ({@link markWritten}): copies of the contents (matmul's wasm cache) check it. */
  version = 0;
  constructor(
    readonly dtype: DType,
    /**
     * The elements (the raw bits for float16 / bfloat16). Replaced (same contents, same length) when a weight moves
     * into the SIMD kernels' wasm memory (wasm-heap.ts): read it at each use rather than keeping it across calls that
     * may run a matmul.
     */
    public data: Float32Array | Int32Array | Uint16Array,
  ) {
    this.size = data.length;
  }
}

/** Records an in-place write into a CPU storage (write, copyInto, adamw): cached copies of it become stale. */
export function markWritten(storage: Storage): void {
  if (storage instanceof CpuStorage) storage.version++;
}

/** A fresh zeroed CPU storage (a large float32 one may reuse the array of a freed storage, {@link recycleCpu}). */
export function allocCpu(dtype: DType, size: number): CpuStorage {
  if (dtype === 'float32' && size >= RECYCLE_MIN_FLOATS) {
    const reused = recycled.get(size)?.pop();
    if (reused) {
      recycledFloats -= size;
      return new CpuStorage(dtype, reused.fill(0));
    }
  }
  const data =
    dtype === 'int32' ? new Int32Array(size) : isHalf(dtype) ? new Uint16Array(size) : new Float32Array(size);
  return new CpuStorage(dtype, data);
}

/** Freed float32 arrays smaller than this are left to the garbage collector. */
const RECYCLE_MIN_FLOATS = 1 << 12;
/** At most this many floats (32 MiB) wait for reuse. */
const RECYCLE_MAX_FLOATS = 1 << 23;
/** Arrays of freed storages by length. */
const recycled = new Map<number, Float32Array[]>();
let recycledFloats = 0;

/**
 * Called by the backend's `free`: keeps a large float32 storage's own array (on the JS heap, not shared) for the
 * next {@link allocCpu} of that length, and leaves the storage empty so that a use after free fails loudly. Why: a
 * batch-16 decode step allocates a fresh 2 MB logits array (and prefill steps larger ones); as external memory they
 * drove V8 into a full mark-compact every ~20 steps (~5 % of a stories-15m step), and fresh pages fault in on first
 * touch.
 */
export function recycleCpu(storage: CpuStorage): void {
  const data = storage.data;
  if (
    !(data instanceof Float32Array) ||
    data.length < RECYCLE_MIN_FLOATS ||
    recycledFloats + data.length > RECYCLE_MAX_FLOATS ||
    !(data.buffer instanceof ArrayBuffer) ||
    data.byteOffset !== 0 ||
    data.buffer.byteLength !== data.byteLength
  ) {
    return;
  }
  let list = recycled.get(data.length);
  if (!list) recycled.set(data.length, (list = []));
  list.push(data);
  recycledFloats += data.length;
  storage.data = new Float32Array(0);
}

/** Bytes of freed arrays waiting for reuse (the CPU backend's `memory().bytesPooled`). */
export function recycledBytes(): number {
  return 4 * recycledFloats;
}

/** The CPU storage behind `storage`, or a clear error when tensors of different backends were mixed. */
export function cpuStorage(storage: Storage): CpuStorage {
  if (!(storage instanceof CpuStorage)) {
    throw new Error(
      `cpu backend: got a storage of backend '${storage.backend}'; tensors of different backends were mixed`,
    );
  }
  return storage;
}

/**
 * The typed array behind a float32 or int32 storage of the CPU backend. Half storages hold bits, not values: kernels
 * that take them decode through `cpu/half.ts`, and the ops keep halves away from every other kernel.
 */
export function cpuData(storage: Storage): Float32Array | Int32Array {
  const s = cpuStorage(storage);
  if (isHalf(s.dtype)) throw new Error(`cpu backend: internal: a ${s.dtype} storage reached a float32/int32 kernel`);
  return s.data as Float32Array | Int32Array;
}

/**
 * Calls `inner(base, count, stride)` once per innermost row of a strided view: the row's elements are at
 * base, base + stride, … (count of them). Keeps per-element work inside tight loops of the kernels.
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  inner: (base: number, count: number, stride: number, rowIndex: number) => void,
): void {
  const rank = shape.length;
  const total = sizeOf(shape);
  if (total === 0) return;
  if (rank === 0) {
    inner(offset, 1, 1, 0);
    return;
  }
  const count = shape[rank - 1]!;
  const stride = strides[rank - 1]!;
  const rows = total / count;
  const idx = new Array<number>(rank - 1).fill(0);
  let base = offset;
  for (let r = 0; r < rows; r++) {
    inner(base, count, stride, r);
    // Odometer increment over the outer dims.
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** A contiguous row-major copy of a view's elements (or a zero-copy subarray when the view already is one). */
export function readView(view: View): Float32Array | Int32Array {
  const src = cpuData(view.storage);
  const n = sizeOf(view.shape);
  if (isContiguous(view)) return src.subarray(view.offset, view.offset + n);
  const out = view.storage.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  let o = 0;
  forEachRow(view.shape, view.strides, view.offset, (base, count, stride) => {
    for (let j = 0; j < count; j++) out[o++] = src[base + j * stride]!;
  });
  return out;
}
