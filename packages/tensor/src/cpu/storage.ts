import { type DType, isHalf, type Storage, type View } from '../backend/backend.js';
import { isContiguous, sizeOf } from '../shape.js';

/** A CPU storage: a plain typed array on the JS heap. */
export class CpuStorage implements Storage {
  readonly backend = 'cpu' as const;
  readonly size: number;
  /** Bumped by every in-place write ({@link markWritten}): copies of the contents (matmul's wasm cache) check it. */
  version = 0;
  /** The CPU backend that handed this storage out and has not freed it yet (null before and after). */
  liveIn: object | null = null;
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

type CpuArray = Float32Array | Int32Array | Uint16Array;

/**
 * Arrays of freed storages by dtype and length, reused by {@link allocCpu}. A decode step allocates and frees ~100
 * small outputs; each fresh typed array is a malloc'd backing store that V8 counts as external memory, and their
 * churn, not the arithmetic, made the garbage collector the largest cost of a small op (24 % of an rmsNorm of 288).
 */
const pools: Record<DType, Map<number, CpuArray[]>> = {
  float32: new Map(),
  int32: new Map(),
  float16: new Map(),
  bfloat16: new Map(),
};
/** Arrays of up to 16 elements live inside V8's heap and cost nothing to drop; huge ones are not worth holding. */
const POOL_MIN_ELEMENTS = 17;
const POOL_MAX_ELEMENTS = 1 << 22;
/** Bytes held by the pools at most; beyond it freed arrays are left to the garbage collector. */
const POOL_MAX_BYTES = 64 << 20;
let pooledBytes = 0;

/**
 * A fresh zeroed CPU storage (its array may be one a freed storage held: see {@link recycleCpu}). A kernel that writes
 * every element passes `zeroed` false: a reused array then keeps a freed tensor's values (the LM head's 32 000 logits
 * were zeroed every decode step only to be overwritten).
 */
export function allocCpu(dtype: DType, size: number, zeroed = true): CpuStorage {
  const reused = pools[dtype].get(size)?.pop();
  if (reused) {
    pooledBytes -= reused.byteLength;
    if (zeroed) reused.fill(0);
    return new CpuStorage(dtype, reused);
  }
  const data =
    dtype === 'int32' ? new Int32Array(size) : isHalf(dtype) ? new Uint16Array(size) : new Float32Array(size);
  return new CpuStorage(dtype, data);
}

/**
 * Hands a freed storage's array to {@link allocCpu} (the backend's `free`). Only an array that is a whole JS buffer
 * of its own is kept (not a view into wasm memory), so a kernel must never return a storage whose array another live
 * storage also holds. The storage must not be read afterwards. Returns false when the array views a larger buffer
 * (it may be a block of the kernels' wasm memory, which the caller then gives back), true otherwise.
 */
export function recycleCpu(storage: CpuStorage): boolean {
  const a = storage.data;
  const n = a.length;
  // (A view detached by a memory grow has length 0: not its own buffer either.)
  if (n !== storage.size || a.byteOffset !== 0) return false;
  // Small arrays are not pooled; asked for `.buffer`, V8 would first move one off its heap (~0.25 µs).
  if (n < POOL_MIN_ELEMENTS) return true;
  if (a.buffer.byteLength !== a.byteLength) return false;
  // A shared buffer of exactly this size is not one we made (allocCpu's arrays own plain ArrayBuffers).
  if (!(a.buffer instanceof ArrayBuffer)) return false;
  if (n > POOL_MAX_ELEMENTS || pooledBytes + a.byteLength > POOL_MAX_BYTES) return true;
  const pool = pools[storage.dtype];
  const list = pool.get(n);
  if (list) list.push(a);
  else pool.set(n, [a]);
  pooledBytes += a.byteLength;
  // The freed storage keeps an empty view: a read after free then fails loudly instead of seeing another tensor.
  storage.data = a.subarray(0, 0);
  return true;
}

/** Bytes of freed arrays the CPU backend holds for reuse (`memory().bytesPooled`). */
export function cpuPooledBytes(): number {
  return pooledBytes;
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
