/**
 * Batched matmul on the WebAssembly SIMD kernels (wasm-tile.ts). a is copied into the work area at the bottom of
 * the module's memory with K padded to a multiple of 4 and rows padded to whole tiles with zeros (they only feed
 * outputs that are not copied out), packed for the dot kernels (`packTiles`), row by row for the axpy kernels. b is read in place when it lives in wasm memory (a weight, moved there on
 * its second use, wasm-heap.ts), in either layout: column-major (rows of bᵀ, a Linear weight `[out, in]`) by the dot
 * kernels, row-major by the axpy kernels; a single row uses the one-row kernels (`gemv`, `gemvRows`). Any other b
 * is copied as rows of bᵀ into the work area for the call, in chunks of columns that fit.
 *
 * @module
 */
import { type DotProduct, runDotKernels } from './cpu-threads.js';
import type { CpuStorage } from './storage.js';
import { allocateOnHeap, ensureMemory, type HeapBlock, heapBlock, WORK_BYTES } from './wasm-heap.js';
import { simdPackTiles } from './wasm-pack-tiles.js';
import {
  AXPY_COLS,
  AXPY_ROWS,
  GEMV_COLS,
  packTiles,
  TILE_COLS,
  TILE_ROWS,
  TILE_TAIL_ROWS,
  type WasmTile,
  wasmTile,
} from './wasm-tile.js';

/** Rows of a per cache block: the block's rows stay cache-resident while rows of bᵀ stream past them. */
const ROW_BLOCK = 64;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** How b is read: in place in wasm memory (which form, at which float offset) or copied per call. */
type BSource = { kind: 'dot' | 'axpy'; start: number } | { kind: 'copy' };

/**
 * o[bi] = a[bi] · b[bi] for every batch index bi: `aBases` / `bBases` are the element offsets of each batch's
 * matrix (a row-major [M, K]; b row-major [K, N], or column-major when `bColumnMajor`). `bStorage` is b's storage
 * when B is its own array (not a copy). Accumulates in float32 SIMD lanes (see wasm-tile.ts). `oBlock` is o's block
 * when o lives in wasm memory with room for the rows padded to whole tiles ({@link productOutput}): the kernels then
 * write it in place when one chunk of columns covers it, else it is copied into as any o. Returns false, having
 * written nothing, when WebAssembly SIMD is unavailable or a does not fit the work area.
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
  oBlock?: HeapBlock,
): boolean {
  const wasm = wasmTile();
  if (!wasm) return false;
  const source = bSource(bStorage, bBases, bColumnMajor, K, N);
  const Kp = roundUp(K, 4);
  // Rows of a as the kernels read them: whole tiles (a single row: exactly one).
  const Mp = source.kind === 'axpy' ? (M === 1 ? 1 : roundUp(M, AXPY_ROWS)) : dotRows(M);
  // Output columns per tile, and the padded width of a chunk's output rows.
  const cols = source.kind === 'axpy' ? AXPY_COLS : M === 1 ? GEMV_COLS : TILE_COLS;
  const work = WORK_BYTES / 4;
  if (Mp * Kp > work / 2) return false;
  // Room for the SIMD packing's copy of a (a dot-form batch of rows, wasm-pack-tiles.ts).
  const staged = source.kind !== 'axpy' && M > 1 && K % 4 === 0 ? M * K : 0;
  // Columns of b per chunk: each costs an output column of Mp floats and, when copied, a padded row of bᵀ.
  const perColumn = Mp + (source.kind === 'copy' ? Kp : 0);
  const fit = Math.floor((work - Mp * Kp - staged) / perColumn);
  const chunk = Math.min(roundUp(N, cols), fit - (fit % cols));
  if (chunk < cols) return false;
  const aOff = 0;
  const wOff = Mp * Kp;
  const oOff = wOff + (source.kind === 'copy' ? chunk * Kp : 0);
  const stage = oOff + Mp * chunk;
  if (!ensureMemory(wasm.memory, 4 * (stage + staged))) return false;
  // After any grow of an unshared memory, views of the old buffer are detached: take the view now.
  const f = new Float32Array(wasm.memory.buffer);
  // Padding columns of K must be zeros in a and in copied bᵀ rows (copies below write only the first K of each).
  if (Kp !== K) f.fill(0, aOff, source.kind === 'copy' ? oOff : wOff);
  // o in wasm memory with room for the padded rows (matmul's productOutput): the kernels write it in place when one
  // chunk covers its columns exactly (chunks are whole tiles of `cols`, so then N is too).
  const direct = oBlock !== undefined && aBases.length === 1 && chunk === N && oBlock.floats >= Mp * N;
  let copiedB = -1;
  for (let bi = 0; bi < aBases.length; bi++) {
    if (source.kind === 'axpy') copyRows(A, aBases[bi]!, M, K, f, aOff, Kp);
    else if (!(staged > 0 && simdPackTiles(A, aBases[bi]!, M, K, TILE_ROWS, Mp, f, aOff, stage))) {
      packTiles(A, aBases[bi]!, M, K, M === 1 ? 1 : TILE_ROWS, Mp, f, aOff, Kp);
    }
    for (let j0 = 0; j0 < N; j0 += chunk) {
      const n = Math.min(chunk, N - j0);
      const np = roundUp(n, cols);
      let w: number;
      if (source.kind === 'copy') {
        // A b broadcast over the batch (same offset, one chunk) is copied once.
        if (chunk < N || bBases[bi] !== copiedB) {
          copiedB = bBases[bi]!;
          copyBt(B, copiedB, K, N, j0, n, bColumnMajor, f, wOff, Kp);
        }
        w = wOff;
      } else {
        w = source.start + bBases[bi]! + (source.kind === 'dot' ? j0 * K : j0);
      }
      const oRow = direct ? { off: oBlock.start, stride: N } : { off: oOff, stride: np };
      if (source.kind === 'axpy') axpyBlock(wasm, aOff, Kp, w, N, K, oRow, Mp, np);
      else dotBlock(wasm, aOff, Kp, w, oRow, Mp, np);
      if (direct) continue;
      const oBase = bi * M * N + j0;
      for (let i = 0; i < M; i++) o.set(f.subarray(oOff + i * np, oOff + i * np + n), oBase + i * N);
    }
  }
  return true;
}

/** Most rows of a product whose output {@link productOutput} places in wasm memory: a decode step's, not training's. */
const DIRECT_MAX_ROWS = 64;
/** Outputs of at least this many floats are placed (below it, copying the rows out costs less than a µs). */
const DIRECT_MIN_FLOATS = 1 << 14;
/** Outputs of at most this many floats are placed (wasm memory never shrinks). */
const DIRECT_MAX_FLOATS = 1 << 22;

/**
 * The output storage of x [M, K] · w with w a weight living in wasm memory (`bStorage`, one batch), placed in wasm
 * memory with room for M rows padded to whole tiles, so that {@link wasmMatmul} writes it in place and its readers
 * (the draws of sample-tokens.ts) read it there; undefined for any other product, which gets a JS array. Why: the LM
 * head's logits ([16, 32 000] at 16 rows, 2 MB) were copied out of the work area and then into it again for each
 * row's draw, ~0.3 ms of a ~8-ms 16-row decode step on the engine's thread alone (packages/tensor/BENCHMARKS.md).
 */
export function productOutput(
  M: number,
  N: number,
  batch: number,
  bStorage: CpuStorage | null,
): CpuStorage | undefined {
  const size = M * N;
  if (batch !== 1 || M > DIRECT_MAX_ROWS || size < DIRECT_MIN_FLOATS || size > DIRECT_MAX_FLOATS) return undefined;
  if (!bStorage || !heapBlock(bStorage)) return undefined;
  return allocateOnHeap(size, roundUp(M, TILE_ROWS) * N);
}

/** One weight of {@link wasmRowParts}: rows [offset / K, offset / K + n) of a `[*, K]` float32 storage. */
export interface RowPart {
  readonly storage: CpuStorage;
  /** Element offset of the weight's first row in its storage. */
  readonly offset: number;
  /** Rows of the weight (output columns). */
  readonly n: number;
}

/**
 * Rows x (`[M, K]` at `xOff` of X) against weights W_p that live in wasm memory, x · W_pᵀ for each part, written part
 * after part (`[M, N_p]` each) into `out` from 0: the decode step's q/k/v and gate/up products. The kernels, tiles and
 * far layout of {@link wasmMatmul} (so the same floats as one matmul per part), but x is copied in and packed once
 * for all parts and nothing is allocated: at one row the per-call work of a general matmul (operand layouts, batch
 * offsets, an output array per part, a second copy into the packed result) cost ~10 µs per grouped product beside
 * kernels of 7–18 µs, and at 16 rows the packing of x was repeated per part. Returns false, having written nothing,
 * unless every weight already lives in wasm memory and reads in place (dot form) and the rows fit the work area.
 */
export function wasmRowParts(
  X: Float32Array,
  xOff: number,
  M: number,
  K: number,
  parts: readonly RowPart[],
  out: Float32Array,
): boolean {
  const wasm = wasmTile();
  if (!wasm || K % 4 !== 0 || M < 1) return false;
  const cols = M === 1 ? GEMV_COLS : TILE_COLS;
  const Mp = dotRows(M);
  let padded = 0;
  const starts: number[] = [];
  for (const part of parts) {
    // Only weights already moved (by matmul's second use of them, which the caller's fallback provides) read here.
    const source = bSource(part.storage, [part.offset], true, K, part.n);
    if (source.kind !== 'dot') return false;
    starts.push(source.start + part.offset);
    padded += roundUp(part.n, cols);
  }
  // a packed at 0, the parts' outputs after it (row stride: the part's padded width), then the packing's copy of x.
  const oEnd = Mp * K + Mp * padded;
  const floats = oEnd + (M > 1 ? M * K : 0);
  if (4 * floats > WORK_BYTES || !ensureMemory(wasm.memory, 4 * floats)) return false;
  const f = new Float32Array(wasm.memory.buffer, 0, floats);
  if (M === 1) f.set(X.subarray(xOff, xOff + K), 0);
  else if (!simdPackTiles(X, xOff, M, K, TILE_ROWS, Mp, f, 0, oEnd)) packTiles(X, xOff, M, K, TILE_ROWS, Mp, f, 0, K);
  // Every part's products as one job (the threads meet once for all parts), then the outputs out.
  const products: DotProduct[] = [];
  let o = Mp * K;
  for (const [p, part] of parts.entries()) {
    const np = roundUp(part.n, cols);
    products.push(...dotProducts(0, K, starts[p]!, { off: o, stride: np }, Mp, np));
    o += Mp * np;
  }
  runDotKernels(wasm, M === 1 ? 'gemv' : 'tile', products);
  o = Mp * K;
  let at = 0;
  for (const part of parts) {
    const n = part.n;
    const np = roundUp(n, cols);
    if (np === n) out.set(f.subarray(o, o + M * n), at);
    else for (let i = 0; i < M; i++) out.set(f.subarray(o + i * np, o + i * np + n), at + i * n);
    o += Mp * np;
    at += M * n;
  }
  return true;
}

/** Rows the dot kernels compute for M rows of a: whole tiles of TILE_ROWS, the last possibly a tail tile. */
function dotRows(M: number): number {
  if (M === 1) return 1;
  const rest = M % TILE_ROWS;
  if (rest === 0) return M;
  return rest <= TILE_TAIL_ROWS ? M - rest + TILE_TAIL_ROWS : roundUp(M, TILE_ROWS);
}

/**
 * Where b comes from (exported for tests): in place when its storage lives in wasm memory, its rows are 16-byte multiples (dot form
 * reads K in vectors of 4), and every tile's reads stay inside the storage's block (padding included).
 */
export function bSource(
  storage: CpuStorage | null,
  bBases: readonly number[],
  columnMajor: boolean,
  K: number,
  N: number,
): BSource {
  const block = storage ? heapBlock(storage) : undefined;
  if (!block) return { kind: 'copy' };
  const maxBase = Math.max(...bBases);
  if (columnMajor) {
    const ok = K % 4 === 0 && maxBase + roundUp(N, Math.max(GEMV_COLS, TILE_COLS)) * K <= block.floats;
    return ok ? { kind: 'dot', start: block.start } : { kind: 'copy' };
  }
  const ok = maxBase + (K - 1) * N + roundUp(N, AXPY_COLS) <= block.floats;
  return ok ? { kind: 'axpy', start: block.start } : { kind: 'copy' };
}

/**
 * Dot form: o[0..Mp, 0..np) = a · (rows of bᵀ at float offset w, stride Kp); a packed at aOff (row stride Kp). One
 * kernel call per block of rows of a (the last block may end in a tail tile); column c of each group reads rows [c·q, (c+1)·q) of bᵀ (q = np / cols) in turn, so the
 * kernel's read streams are long (see wasm-tile.ts). A large call's groups are split across threads (cpu-threads.ts).
 */
function dotBlock(
  wasm: WasmTile,
  aOff: number,
  Kp: number,
  w: number,
  o: { off: number; stride: number },
  Mp: number,
  np: number,
) {
  runDotKernels(wasm, Mp === 1 ? 'gemv' : 'tile', dotProducts(aOff, Kp, w, o, Mp, np));
}

/** The kernel calls of {@link dotBlock}: one per block of ROW_BLOCK rows of a. */
function dotProducts(
  aOff: number,
  Kp: number,
  w: number,
  o: { off: number; stride: number },
  Mp: number,
  np: number,
): DotProduct[] {
  const kBytes = 4 * Kp;
  const one = Mp === 1;
  const q = np / (one ? GEMV_COLS : TILE_COLS);
  const products: DotProduct[] = [];
  for (let i0 = 0; i0 < Mp; i0 += ROW_BLOCK) {
    const rows = Math.min(Mp, i0 + ROW_BLOCK) - i0;
    const tiles = one ? 1 : Math.floor(rows / TILE_ROWS);
    const tail = !one && rows % TILE_ROWS !== 0 ? 1 : 0;
    const out = 4 * (o.off + i0 * o.stride);
    const a = 4 * (aOff + i0 * Kp);
    const args = [a, kBytes, tiles, 4 * w, q * kBytes, q, kBytes, out, 4 * o.stride, kBytes, 4 * q, 4, tail] as const;
    products.push({ args, multiplyAdds: rows * np * Kp });
  }
  return products;
}

/** Axpy form: o[0..Mp, 0..np) = a · b with b row-major (row stride N) at float offset w; a at aOff, stride Kp. */
function axpyBlock(
  wasm: WasmTile,
  aOff: number,
  Kp: number,
  w: number,
  N: number,
  K: number,
  o: { off: number; stride: number },
  Mp: number,
  np: number,
) {
  const kBytes = 4 * K;
  if (Mp === 1) {
    for (let j = 0; j < np; j += AXPY_COLS) wasm.gemvRows(4 * aOff, 0, 4 * (w + j), 4 * N, kBytes, 4 * (o.off + j), 0);
    return;
  }
  // One strip of 8 columns of b ([K, 8], a few KiB) stays in cache while every row tile passes over it.
  for (let j = 0; j < np; j += AXPY_COLS) {
    for (let i = 0; i < Mp; i += AXPY_ROWS) {
      wasm.rows(4 * (aOff + i * Kp), 4 * Kp, 4 * (w + j), 4 * N, kBytes, 4 * (o.off + i * o.stride + j), 4 * o.stride);
    }
  }
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
