/**
 * Weights that live in the SIMD kernels' wasm memory, so that a decode step reads them in place instead of copying
 * them in for every product.
 *
 * Why: the kernels can only read wasm memory. The first design kept padded copies of weights in a 256 MiB cache
 * there; a model whose weights exceed it (stories-110m: 440 MB) dropped and refilled the cache every step, so each
 * token re-copied every weight (60 % of a decode step). Here a storage used a second time as matmul's b (a weight,
 * or a persistent buffer such as a KV cache, rewritten in place between uses; an activation is a fresh storage used
 * once) moves into the memory for good: its `data` becomes a view
 * of wasm memory, so writes through the backend (write, copyInto, adamw) land there and nothing can go stale, and
 * no weight is held twice. Block weights (int32 words of ggml bytes) move in as they are created instead
 * ({@link moveWordsToHeap}), for the block kernels (block-matmul-wasm.ts). This needs a shared memory, whose growth never detaches existing views; where only an
 * unshared memory exists (a browser page without cross-origin isolation), nothing moves and operands are copied.
 *
 * Layout: bytes [0, WORK_BYTES) are the per-call work area (matmul-wasm.ts), then the block kernels' f16 → f32
 * table (F16_TABLE_BYTES at WORK_BYTES, wasm-block-kernels.ts); storages are placed above them by a
 * first-fit allocator and returned by the backend's `free` or, for storages never freed explicitly, by a
 * FinalizationRegistry when their storage is collected.
 *
 * @module
 */
import { isHalf } from '../backend/backend.js';
import { CpuStorage, recycleCpu } from './storage.js';
import { wasmTile } from './wasm-tile.js';

/** Bytes at the bottom of wasm memory for one product's working set (padded a, b chunks, the output chunk). */
export const WORK_BYTES = 64 * 1024 * 1024;
/**
 * Bytes of the f16 → float32 table (one float per f16 bit pattern) at WORK_BYTES, which the block kernels read a
 * block's scale from (as ggml's GGML_FP16_TO_FP32 table does) instead of decoding it in ~10 scalar steps.
 */
export const F16_TABLE_BYTES = 4 * 65536;
/** First float of the heap, after the work area and the f16 table. */
const HEAP_START = (WORK_BYTES + F16_TABLE_BYTES) / 4;
/** Smaller storages are copied each call: moving them saves little. */
export const HEAP_MIN_FLOATS = 1 << 16;
/**
 * Floats after a moved storage that the kernels may read past a matrix's end (whole tiles of 8 rows of a weight,
 * 8 columns past a row-major matrix's last row); their outputs are discarded. Per K of the first use, see
 * {@link moveToHeap}, so the padding fits that weight's tiles; other views are checked by {@link heapBlock}'s caller.
 */
const PAD_ROWS = 8;
const PAGE = 65536;
const GROW_PAGES = 256;

/** A block of wasm memory holding one storage: float offset and length (with padding), in floats. */
export interface HeapBlock {
  readonly start: number;
  readonly floats: number;
  /** A block of {@link allocateOnHeap}: counted in {@link OUTPUT_MAX_FLOATS}. */
  readonly output?: boolean;
}

/**
 * Floats that {@link allocateOnHeap}'s live blocks may hold in all (64 MiB), beyond which it declines. Why: wasm
 * memory never shrinks, and an output that nobody frees returns only when the garbage collector finds its storage;
 * a decode step frees its few placed outputs within the step.
 */
const OUTPUT_MAX_FLOATS = 1 << 24;
let outputFloats = 0;

const blocks = new WeakMap<CpuStorage, HeapBlock>();
/** Free spans of the heap, sorted by start; the heap ends at `top` (all floats, from HEAP_START). */
const spans: { start: number; floats: number }[] = [];
let top = HEAP_START;
/** Storages used once as b: a second use marks a weight or a persistent buffer (a KV cache rewritten each step). */
const seen = new WeakSet<CpuStorage>();
/** Block weights the heap could not take: they stay on the JS heap (see {@link moveWordsToHeap}). */
const refused = new WeakSet<CpuStorage>();
let byteLimit: number | undefined;
/**
 * The heap ends a page short of wasm32's 4 GiB: kernels compute a row's end address in 32 bits, and one ending at
 * exactly 2^32 would wrap to 0.
 */
const MAX_HEAP_BYTES = 2 ** 32 - PAGE;
/** The wasm memory buffer objects that {@link allocateOnHeap}'s views were made on. */
const outputBuffers = new WeakSet<ArrayBufferLike>();
const collected = new FinalizationRegistry<HeapBlock>((block) => release(block));

/**
 * A size `memory` is known to have reached (memories never shrink). `memory.buffer` of a shared memory costs ~0.5 µs
 * per read in V8, and the kernels ask before every call: ~40 times a decode step.
 */
let known: { memory: WebAssembly.Memory; bytes: number } | null = null;

/** Grows wasm memory to at least `bytes`, in steps of 16 MiB or more (a grow may move the buffer); false if refused. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  if (known !== null && known.memory === memory && bytes <= known.bytes) return true;
  const have = memory.buffer.byteLength;
  known = { memory, bytes: have };
  const missing = Math.ceil((bytes - have) / PAGE);
  if (missing <= 0) return true;
  try {
    memory.grow(Math.max(missing, GROW_PAGES));
    return true;
  } catch {
    try {
      memory.grow(missing);
      return true;
    } catch {
      return false;
    }
  }
}

/** The wasm block holding `storage`'s data, or undefined while it lives on the JS heap. */
export function heapBlock(storage: CpuStorage): HeapBlock | undefined {
  return blocks.get(storage);
}

/**
 * Called by matmul for its b operand before reading it: the second use of a large float32 (or float16 / bfloat16)
 * storage, whatever was written into it in between (a KV cache is rewritten each step), moves it into wasm memory
 * (`k` is the product's K, which sizes the padding). Returns its block.
 */
export function noteMatmulOperand(storage: CpuStorage, k: number): HeapBlock | undefined {
  const block = blocks.get(storage);
  if (block || storage.dtype === 'int32' || storage.size < HEAP_MIN_FLOATS) return block;
  if (!seen.has(storage)) {
    seen.add(storage);
    return undefined;
  }
  return moveToHeap(storage, k);
}

/**
 * Moves a float32 (or half: its bits, two per float slot) storage's contents into wasm memory and points its `data`
 * there; undefined if impossible.
 */
export function moveToHeap(storage: CpuStorage, k: number): HeapBlock | undefined {
  const wasm = wasmTile();
  if (!wasm?.shared || storage.dtype === 'int32') return blocks.get(storage);
  const existing = blocks.get(storage);
  if (existing) return existing;
  const half = isHalf(storage.dtype);
  const slots = half ? Math.ceil(storage.size / 2) : storage.size;
  const floats = slots + PAD_ROWS * (k + 1);
  const start = allocate(wasm.memory, floats);
  if (start === undefined) return undefined;
  const view = half
    ? new Uint16Array(wasm.memory.buffer, 4 * start, storage.size)
    : new Float32Array(wasm.memory.buffer, 4 * start, storage.size);
  view.set(storage.data);
  // Padding is read only into discarded outputs, but keep it finite and deterministic.
  new Float32Array(wasm.memory.buffer, 4 * (start + slots), floats - slots).fill(0);
  storage.data = view;
  const block = { start, floats };
  adopt(storage, block);
  return block;
}

/**
 * Moves a block weight's words (an int32 storage of ggml bytes, see BlockWeight) into wasm memory for good, where
 * the block kernels read them in place; the JS array is dropped, so the bytes are never held twice. No padding: those
 * kernels read whole blocks only. Undefined, and the words stay on the JS heap for the JS kernels, when there is no
 * shared memory or the memory cannot take them (the 4 GiB wasm32 limit, a refused grow, {@link setHeapByteLimit});
 * a refused storage is not tried again.
 */
export function moveWordsToHeap(storage: CpuStorage): HeapBlock | undefined {
  const existing = blocks.get(storage);
  if (existing) return existing;
  const wasm = wasmTile();
  if (!wasm?.shared || storage.dtype !== 'int32' || refused.has(storage)) return undefined;
  const start = allocate(wasm.memory, Math.max(storage.size, 1));
  if (start === undefined) {
    refused.add(storage);
    return undefined;
  }
  const view = new Int32Array(wasm.memory.buffer, 4 * start, storage.size);
  view.set(storage.data);
  storage.data = view;
  const block = { start, floats: Math.max(storage.size, 1) };
  adopt(storage, block);
  return block;
}

/**
 * A new float32 storage of `size` elements whose `data` views a block of `floats` ≥ size floats of wasm memory (not
 * zeroed), so that kernels write it in place: a product's output rows padded to whole tiles (see matmul.ts). Freed
 * like a moved storage (the backend's `free`, else when collected). Undefined without a shared memory or room, or
 * when live placed outputs already hold OUTPUT_MAX_FLOATS.
 */
export function allocateOnHeap(size: number, floats: number): CpuStorage | undefined {
  const wasm = wasmTile();
  const total = Math.max(size, floats, 1);
  if (!wasm?.shared || outputFloats + total > OUTPUT_MAX_FLOATS) return undefined;
  const start = allocate(wasm.memory, total);
  if (start === undefined) return undefined;
  outputFloats += total;
  const buffer = wasm.memory.buffer;
  // A grow gives later reads of memory.buffer a new object: record the one this view keeps (see rowAddress).
  outputBuffers.add(buffer);
  const storage = new CpuStorage('float32', new Float32Array(buffer, 4 * start, size));
  const block = { start, floats: total, output: true };
  adopt(storage, block);
  return storage;
}

/**
 * Byte address in wasm memory of `x[0…n)` for a kernel that reads it in whole groups of `group` elements: where x
 * itself when it already lives in `memory` (a product's output in place, {@link allocateOnHeap}) and n is a multiple
 * of `group`, so the row is not copied (a 32 000-logit row was copied into the work area for every draw); else a
 * copy at byte 0 of the work area, padded with `pad` to whole groups. The caller has ensured the memory holds the
 * copy.
 */
export function rowAddress(memory: WebAssembly.Memory, x: Float32Array, n: number, group: number, pad: number): number {
  // Above the work area only: the kernels write their results there.
  if (n % group === 0 && x.byteOffset >= 4 * HEAP_START && outputBuffers.has(x.buffer)) return x.byteOffset;
  const padded = Math.ceil(n / group) * group;
  const f = new Float32Array(memory.buffer, 0, padded);
  f.set(x.subarray(0, n));
  f.fill(pad, n);
  return 0;
}

/**
 * Caps the bytes of wasm memory that the heap may reach (undefined: the 4 GiB of wasm32), for tests of what
 * happens when wasm memory cannot take a weight. Returns the previous cap.
 */
export function setHeapByteLimit(bytes: number | undefined): number | undefined {
  const previous = byteLimit;
  byteLimit = bytes;
  return previous;
}

/**
 * Gives a dead storage's memory back for reuse: its array to {@link recycleCpu}'s pools, or its block to the heap
 * (a weight, or a product's output placed there, {@link allocateOnHeap}). Its data must not be used afterwards.
 */
export function releaseCpuStorage(storage: CpuStorage): void {
  // An array that is a whole buffer of its own never lived in wasm memory (no heap lookup).
  if (!recycleCpu(storage)) releaseFromHeap(storage);
}

/** Returns a storage's block to the heap (the backend's `free`); its data must not be used afterwards. */
export function releaseFromHeap(storage: CpuStorage): void {
  const block = blocks.get(storage);
  if (!block) return;
  blocks.delete(storage);
  collected.unregister(storage);
  release(block);
}

/** Bytes of wasm memory that storages occupy (for tests and diagnostics). */
export function heapBytesInUse(): number {
  let free = 0;
  for (const s of spans) free += s.floats;
  return 4 * (top - HEAP_START - free);
}

/** Records that `storage` lives in `block`, which returns to the heap when the storage is freed or collected. */
function adopt(storage: CpuStorage, block: HeapBlock): void {
  blocks.set(storage, block);
  collected.register(storage, block, storage);
}

function allocate(memory: WebAssembly.Memory, floats: number): number | undefined {
  const i = spans.findIndex((s) => s.floats >= floats);
  if (i >= 0) {
    const span = spans[i]!;
    const start = span.start;
    if (span.floats === floats) spans.splice(i, 1);
    else spans[i] = { start: start + floats, floats: span.floats - floats };
    return start;
  }
  if (4 * (top + floats) > (byteLimit ?? MAX_HEAP_BYTES)) return undefined;
  if (!ensureMemory(memory, 4 * (top + floats))) return undefined;
  const start = top;
  top += floats;
  return start;
}

function release(block: HeapBlock): void {
  if (block.output) outputFloats -= block.floats;
  let i = spans.findIndex((s) => s.start > block.start);
  if (i < 0) i = spans.length;
  spans.splice(i, 0, { start: block.start, floats: block.floats });
  // Merge with the following and the preceding span, then give a trailing span back to `top`.
  const next = spans[i + 1];
  if (next && spans[i]!.start + spans[i]!.floats === next.start) {
    spans[i]!.floats += next.floats;
    spans.splice(i + 1, 1);
  }
  const prev = spans[i - 1];
  if (prev && prev.start + prev.floats === spans[i]!.start) {
    prev.floats += spans[i]!.floats;
    spans.splice(i, 1);
    i--;
  }
  const last = spans[spans.length - 1];
  if (last && last.start + last.floats === top) {
    top = last.start;
    spans.pop();
  }
}
