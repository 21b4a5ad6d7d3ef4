/**
 * Batched matmul on the WebAssembly SIMD tile (wasm-tile.ts): operands are copied into the module's memory with K
 * padded to a multiple of 4 and rows padded to whole tiles (zeros, which add nothing), b as rows of bᵀ, so one
 * kernel serves both layouts of b. Copying costs one pass over each operand, small next to M·K·N multiply-adds
 * once M > 1, and about what a single streaming row pays anyway.
 *
 * @module
 */
import type { CpuStorage } from './storage.js';
import { TILE_COLS, TILE_ROWS, wasmTile } from './wasm-tile.js';

/** Rows of a per cache block: the block's rows stay cache-resident while rows of bᵀ stream past them. */
const ROW_BLOCK = 64;
/**
 * Bytes of wasm memory for one product's working set (padded a, a chunk of bᵀ's rows, the output chunk): b is
 * processed in chunks of columns that fit. An a alone too big for half of it goes to the JS kernels.
 */
const WORK_BYTES = 64 * 1024 * 1024;
/**
 * Bytes after the working set that keep padded copies of b between calls (weights, read every decode step), so a
 * step does not re-copy every weight. Entries are checked against the storage's write version; when full, the
 * whole cache is dropped and refilled. Wasm memory is never returned: it peaks at WORK_BYTES + CACHE_BYTES.
 */
const CACHE_BYTES = 256 * 1024 * 1024;
/** Smaller b are copied each call: caching them saves little. */
const CACHE_MIN_FLOATS = 1 << 16;
const PAGE = 65536;
const GROW_PAGES = 256;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** A padded copy of bᵀ in wasm memory: which matrix of which storage, at which write version, at which offset. */
interface CachedB {
  base: number;
  K: number;
  N: number;
  columnMajor: boolean;
  version: number;
  offset: number;
}
let cache = new WeakMap<CpuStorage, CachedB[]>();
let cacheUsed = 0;

/** Grows wasm memory to at least `bytes`, in steps of 16 MiB or more (a grow may move the buffer); false if refused. */
function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  const missing = Math.ceil((bytes - memory.buffer.byteLength) / PAGE);
  if (missing <= 0) return true;
  try {
    memory.grow(Math.max(missing, GROW_PAGES));
    return true;
  } catch {
    return false;
  }
}

/**
 * o[bi] = a[bi] · b[bi] for every batch index bi: `aBases` / `bBases` are the element offsets of each batch's
 * matrix (a row-major [M, K]; b row-major [K, N], or column-major when `bColumnMajor`). `bStorage` is b's storage
 * when B is its own array (not a copy): then a b shared by the whole batch is kept in the cache. Accumulates in
 * float32 SIMD lanes (see wasm-tile.ts). Returns false, having written nothing, when WebAssembly SIMD is
 * unavailable or a does not fit the memory budget.
 */
export function wasmMatmul(
  A: Float32Array,
  aBases: readonly number[],
  B: Float32Array,
  bBases: readonly number[],
  bColumnMajor: boolean,
  bStorage: CpuStorage | null,
  o: Float32Array,
  M: number,
  K: number,
  N: number,
): boolean {
  const wasm = wasmTile();
  if (!wasm) return false;
  const Kp = roundUp(K, 4);
  const Mp = roundUp(M, TILE_ROWS);
  const Np = roundUp(N, TILE_COLS);
  const work = WORK_BYTES / 4;
  if (Mp * Kp > work / 2) return false;
  let cached: number | null = null;
  if (bStorage && bBases.every((b) => b === bBases[0]) && Mp * (Kp + Np) <= work) {
    cached = cachedB(wasm.memory, bStorage, B, bBases[0]!, K, N, bColumnMajor, Kp);
  }
  // Columns of b per chunk: each costs a padded row of bᵀ (unless cached) and an output column.
  const fit = cached === null ? Math.floor((work - Mp * Kp) / (Kp + Mp)) : Np;
  const chunk = Math.min(Np, fit - (fit % TILE_COLS));
  if (chunk < TILE_COLS) return false;
  const aOff = 0;
  const wOff = cached ?? Mp * Kp;
  const oOff = Mp * Kp + (cached === null ? chunk * Kp : 0);
  if (!ensureMemory(wasm.memory, 4 * (oOff + Mp * chunk))) return false;
  // After any grow: views of the old buffer are detached.
  const f = new Float32Array(wasm.memory.buffer);
  // Padding rows only feed padding outputs, which are not copied out; padding columns of K must be zeros.
  if (Kp !== K) f.fill(0, aOff, cached === null ? oOff : Mp * Kp);
  let copiedB = -1;
  for (let bi = 0; bi < aBases.length; bi++) {
    copyRows(A, aBases[bi]!, M, K, f, aOff, Kp);
    for (let j0 = 0; j0 < N; j0 += chunk) {
      const n = Math.min(chunk, N - j0);
      const np = roundUp(n, TILE_COLS);
      // A b broadcast over the batch (same offset, one chunk) is copied once.
      if (cached === null && (chunk < N || bBases[bi] !== copiedB)) {
        copiedB = bBases[bi]!;
        copyBt(B, copiedB, K, N, j0, n, bColumnMajor, f, wOff, Kp);
      }
      for (let i0 = 0; i0 < Mp; i0 += ROW_BLOCK) {
        const i1 = Math.min(Mp, i0 + ROW_BLOCK);
        for (let j = 0; j < np; j += TILE_COLS) {
          const w = 4 * (wOff + (cached === null ? j : j0 + j) * Kp);
          for (let i = i0; i < i1; i += TILE_ROWS) {
            wasm.tile(4 * (aOff + i * Kp), w, 4 * Kp, 4 * Kp, 4 * (oOff + i * np + j), 4 * np);
          }
        }
      }
      const oBase = bi * M * N + j0;
      for (let i = 0; i < M; i++) o.set(f.subarray(oOff + i * np, oOff + i * np + n), oBase + i * N);
    }
  }
  return true;
}

/**
 * The float offset in wasm memory of a padded copy of all of bᵀ (N rows of stride Kp) for the matrix of `storage`
 * at `base`, copying it if absent or stale; null if b is too small or too big to cache, or memory cannot grow.
 */
function cachedB(
  memory: WebAssembly.Memory,
  storage: CpuStorage,
  B: Float32Array,
  base: number,
  K: number,
  N: number,
  columnMajor: boolean,
  Kp: number,
): number | null {
  const floats = roundUp(N, TILE_COLS) * Kp;
  if (floats < CACHE_MIN_FLOATS || floats > CACHE_BYTES / 4) return null;
  let entries = cache.get(storage);
  let entry = entries?.find((e) => e.base === base && e.K === K && e.N === N && e.columnMajor === columnMajor);
  if (entry && entry.version === storage.version) return entry.offset;
  if (cacheUsed + floats > CACHE_BYTES / 4) {
    cache = new WeakMap();
    cacheUsed = 0;
    entries = undefined;
    entry = undefined;
  }
  const offset = WORK_BYTES / 4 + cacheUsed;
  if (!ensureMemory(memory, 4 * (offset + floats))) return null;
  const f = new Float32Array(memory.buffer);
  if (Kp !== K) f.fill(0, offset, offset + floats);
  copyBt(B, base, K, N, 0, N, columnMajor, f, offset, Kp);
  cacheUsed += floats;
  if (entry) {
    entry.version = storage.version;
    entry.offset = offset;
  } else {
    if (!entries) cache.set(storage, (entries = []));
    entries.push({ base, K, N, columnMajor, version: storage.version, offset });
  }
  return offset;
}

/** Writes columns [j0, j0 + n) of b (the matrix at base) as n rows of bᵀ with stride Kp at dst[off]. */
function copyBt(
  B: Float32Array,
  base: number,
  K: number,
  N: number,
  j0: number,
  n: number,
  columnMajor: boolean,
  dst: Float32Array,
  off: number,
  Kp: number,
) {
  if (columnMajor) copyRows(B, base + j0 * K, n, K, dst, off, Kp);
  else copyTransposed(B, base + j0, K, n, N, dst, off, Kp);
}

/** Copies `rows` contiguous rows of length K (from src at base) to dst at off with row stride Kp (≥ K). */
function copyRows(
  src: Float32Array,
  base: number,
  rows: number,
  K: number,
  dst: Float32Array,
  off: number,
  Kp: number,
) {
  if (Kp === K) {
    dst.set(src.subarray(base, base + rows * K), off);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(base + r * K, base + r * K + K), off + r * Kp);
}

/** Writes the transpose of the [K, n] block at base (row stride `stride`) as n rows of stride Kp. */
function copyTransposed(
  src: Float32Array,
  base: number,
  K: number,
  n: number,
  stride: number,
  dst: Float32Array,
  off: number,
  Kp: number,
) {
  // Blocks of 16 × 16 keep both the reads and the writes within a few cache lines.
  for (let k0 = 0; k0 < K; k0 += 16) {
    const k1 = Math.min(K, k0 + 16);
    for (let j0 = 0; j0 < n; j0 += 16) {
      const j1 = Math.min(n, j0 + 16);
      for (let k = k0; k < k1; k++) {
        const s = base + k * stride;
        for (let j = j0; j < j1; j++) dst[off + j * Kp + k] = src[s + j]!;
      }
    }
  }
}
