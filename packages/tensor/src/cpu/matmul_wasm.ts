/**
 * Batched matmul on the WebAssembly SIMD tile (wasm_tile.ts): operands are copied into the module's memory with K
 * padded to a multiple of 4 and rows padded to whole tiles (zeros, which add nothing), b as rows of bᵀ, so one
 * kernel serves both layouts of b. Copying costs one pass over each operand, small next to M·K·N multiply-adds
 * once M > 1, and about what a single streaming row pays anyway.
 *
 * @module
 */
import { TILE_COLS, TILE_ROWS, wasmTile } from './wasm_tile.js';

/** Rows of a per cache block: the block's rows stay cache-resident while rows of bᵀ stream past them. */
const ROW_BLOCK = 64;
/**
 * Most bytes of wasm memory used (padded a, a chunk of bᵀ's rows, the output chunk): b is processed in chunks of
 * columns that fit, so memory stays bounded (it is kept for reuse, never returned). An a alone too big for half of
 * it goes to the JS kernels.
 */
const BUDGET_BYTES = 64 * 1024 * 1024;
const PAGE = 65536;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * o[bi] = a[bi] · b[bi] for every batch index bi: `aBases` / `bBases` are the element offsets of each batch's
 * matrix (a row-major [M, K]; b row-major [K, N], or column-major when `bColumnMajor`). Accumulates in float32 SIMD
 * lanes (see wasm_tile.ts). Returns false, having written nothing, when WebAssembly SIMD is unavailable or a does
 * not fit the memory budget.
 */
export function wasmMatmul(
  A: Float32Array,
  aBases: readonly number[],
  B: Float32Array,
  bBases: readonly number[],
  bColumnMajor: boolean,
  o: Float32Array,
  M: number,
  K: number,
  N: number,
): boolean {
  const wasm = wasmTile();
  if (!wasm) return false;
  const Kp = roundUp(K, 4);
  const Mp = roundUp(M, TILE_ROWS);
  const budget = BUDGET_BYTES / 4;
  if (Mp * Kp > budget / 2) return false;
  // Columns of b per chunk: each costs a padded row of bᵀ and an output column.
  const fit = Math.floor((budget - Mp * Kp) / (Kp + Mp));
  const chunk = Math.min(roundUp(N, TILE_COLS), fit - (fit % TILE_COLS));
  if (chunk < TILE_COLS) return false;
  const aOff = 0;
  const wOff = Mp * Kp;
  const oOff = wOff + chunk * Kp;
  const missing = Math.ceil((4 * (oOff + Mp * chunk) - wasm.memory.buffer.byteLength) / PAGE);
  if (missing > 0) {
    try {
      wasm.memory.grow(missing);
    } catch {
      return false;
    }
  }
  // After any grow: views of the old buffer are detached.
  const f = new Float32Array(wasm.memory.buffer);
  // Padding rows only feed padding outputs, which are not copied out; padding columns of K must be zeros.
  if (Kp !== K) f.fill(0, aOff, oOff);
  let copiedB = -1;
  for (let bi = 0; bi < aBases.length; bi++) {
    copyRows(A, aBases[bi]!, M, K, f, aOff, Kp);
    for (let j0 = 0; j0 < N; j0 += chunk) {
      const n = Math.min(chunk, N - j0);
      const np = roundUp(n, TILE_COLS);
      // A weight broadcast over the batch (same offset, one chunk) is copied once.
      if (chunk < N || bBases[bi] !== copiedB) {
        copiedB = bBases[bi]!;
        if (bColumnMajor) copyRows(B, copiedB + j0 * K, n, K, f, wOff, Kp);
        else copyTransposed(B, copiedB + j0, K, n, N, f, wOff, Kp);
      }
      for (let i0 = 0; i0 < Mp; i0 += ROW_BLOCK) {
        const i1 = Math.min(Mp, i0 + ROW_BLOCK);
        for (let j = 0; j < np; j += TILE_COLS) {
          const w = 4 * (wOff + j * Kp);
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
