/**
 * WebAssembly SIMD matmul kernels, assembled here from their opcodes (no toolchain, no binary blob to trust).
 *
 * Scalar JS runs about one multiply-add per cycle (~4 GFLOP/s on the machines we measured); `f32x4` SIMD does four,
 * which is what lets 16 decode rows cost about two single-row steps. Two families, one per layout of the weight,
 * so neither needs a transposed copy (all addresses are bytes into the module's memory):
 *
 * - dot form, b column-major (rows of bᵀ, i.e. a Linear weight `[out, in]` read in place): one call computes a
 *   whole block, looping in wasm over groups of C rows of bᵀ and, per group, over tiles of R rows of a (packed: a
 *   tile's rows interleaved per 4 floats of k, see {@link packTiles}) and at most one tail tile of fewer rows:
 *   o[r, c] = Σ_k a_r[k]·w_c[k] (see {@link DotKernel} for the addresses). Each output keeps four float32 partial sums
 *   (lanes k mod 4), added up as (s0 + s1) + (s2 + s3) at the end. The C rows of a group are far apart: column c of
 *   a block of n columns reads rows [c·n/C, (c+1)·n/C) of bᵀ in turn, so each of the C read streams runs through
 *   memory in order for the whole block. Why: with C adjacent rows per group, LLaMA's short rows (K = 288 is 18 cache
 *   lines) end C streams every group before the hardware prefetcher has caught up (measured: the 32000 × 288 LM head
 *   of stories-15m ran at 1.3–1.6 G multiply-adds per CPU-second, slower than run.c's plain C loop at 2.3, and at
 *   3.4–3.9 with far streams). `tile` is 4 × 2 with a 2 × 2 tail (batches), `gemv` 1 × 8 (a single decode row: 8 far streams
 *   read 1.05–1.13× faster than 4 from one memory, bench/gemv-streams.mjs, and decoded stories-15m 1.07× faster in
 *   alternating processes on 2026-12-05; 10, 12 and 16 streams were slower, their sums past the 16 vector registers).
 *   Every read stream advances by a pointer bump per loop iteration: with an address add per load, as before
 *   2026-12-05, 4 × 2 and larger tiles measured slower than 2 × 2 (V8 spent the registers and issue slots on
 *   addresses); with bumps 4 × 2 runs 1.15–1.2× faster than that 2 × 2 on 4–64 rows.
 * - axpy form, b row-major `[K, N]` read in place: `rows(a, aStride, b, bStride, kBytes, o, oStride)` computes
 *   o[r, 0..8) = Σ_k a_r[k]·b[k, 0..8) for R rows, one f32x4 lane per output column (sums in k order), and stores
 *   whole vectors. `rows` is 4 × 8, `gemvRows` 1 × 8.
 *
 * In both families an element's value does not depend on which tile computed it or on M.
 *
 * Fused multiply-adds: where the engine has relaxed SIMD, the module also holds the four kernels on
 * `f32x4.relaxed_madd` (one `vfmadd231ps` each on x86 with FMA3, checked in V8's `--print-wasm-code`), same shapes
 * and sum order, which the backend runs unless `ANDES_WASM_RELAXED_SIMD=off` ({@link WasmTile}). Why: the plain tile
 * spends a multiply and an add per multiply-add; fused, 16-row products ran 1.18–1.2× faster on one core
 * (bench/fused-kernels.mjs, one memory), and a one-row product, which streams its weight from memory, ~1.02×. They are
 * held to float64 within a K-scaled bound (matmul-wasm-fused.test.ts), not to the plain kernels' bits.
 *
 * @module
 */

import { HALF_DOT_KERNELS, type HalfDotKernel } from './half-dot-kernel.js';
import { get, I32, name, op, section, set, sleb, uleb, V128, vec } from './wasm-encoding.js';
import { axpyKernel, dotKernel } from './wasm-float32-kernels.js';
import { relaxedSimdSupported, wasmRelaxedSimd } from './wasm-relaxed-simd.js';

/** Rows of a per dot tile (`tile`; numbered variants in bench/wasm-dot-kernels.mjs: 4 × 2 measured fastest for 4–64 rows). */
export const TILE_ROWS = 4;
/**
 * Rows of the dot tile's tail tile: M = 4q + 1 or 4q + 2 rows run q tiles of 4 and one of 2 (4q + 3 runs q + 1
 * tiles of 4), so two rows do not pay for four.
 */
export const TILE_TAIL_ROWS = 2;
/** Rows of w (output columns, far apart) per dot tile. */
export const TILE_COLS = 2;
/** Output columns of the one-row dot kernel (`gemv`): 8 independent sums and far read streams. */
export const GEMV_COLS = 8;
/** Rows of a per axpy tile (`rows`). */
export const AXPY_ROWS = 4;
/** Output columns per axpy tile (both `rows` and `gemvRows`): two f32x4 vectors of one row of b. */
export const AXPY_COLS = 8;
/** Shapes of the two dot kernels (rows of a × rows of bᵀ) and steps of 16 bytes of k per loop iteration. */
export interface DotShapes {
  /** The batched kernel, [R, C]. */
  readonly tile: readonly [number, number];
  /** The one-row kernel, [1, C]. */
  readonly gemv: readonly [1, number];
  /** Unrolled steps of the batched kernel (and of its tail tile): 1 measured fastest for 4 × 2. */
  readonly unroll: number;
  /** Unrolled steps of the one-row kernel (2 measured faster than 1 or 4). */
  readonly gemvUnroll: number;
  /**
   * Fused multiply-adds (relaxed SIMD `f32x4.relaxed_madd`) in every float32 kernel of the module, dot and axpy
   * forms alike, so a row of a batch still equals its one-row product; the module then needs relaxed SIMD.
   */
  readonly fma?: boolean;
  /**
   * Order of a dot step: the C w vectors first, then per row its a vector and C multiply-adds, instead of the R a
   * vectors first and one w vector at a time (the default). Only the order of the multiply-adds changes in the
   * machine code: V8 hoists all R + C loads of a step either way (measured equal; kept for the numbered variants).
   */
  readonly wFirst?: boolean;
}
/** The shapes the backend runs (constants above); a bench builds other variants with {@link tileModuleBytes}. */
export const DOT_SHAPES: DotShapes = { tile: [TILE_ROWS, TILE_COLS], gemv: [1, GEMV_COLS], unroll: 1, gemvUnroll: 2 };
/**
 * The fused kernels the backend runs where relaxed SIMD is on: the same shapes (so matmul-wasm.ts pads and chunks
 * alike). Why 4 × 2 still: V8 hoists a step's loads above its multiply-adds, so a tile needs R + C + R·C of the 15
 * vector registers it allocates; 4 × 2 (14) fused ran 1.18–1.2× the plain one on 16 rows, 3 × 3 (15, nine sums) only
 * gained past ~64 rows and lost at 16 (rows padded to 17), and larger tiles spilled (bench/wasm-dot-kernels.mjs f1–f13).
 */
export const FUSED_DOT_SHAPES: DotShapes = { ...DOT_SHAPES, fma: true };
/** Pages of the shared memory's maximum: the whole 32-bit address space (4 GiB), reserved, committed on growth. */
export const MAX_PAGES = 65536;

/** Exported float32 kernels in function-index order (then the half-weight dots, half-dot-kernel.ts, then `fused`'s). */
const KERNELS = ['tile', 'gemv', 'rows', 'gemvRows'] as const;
/** Suffix of the fused kernels' export names (`tileFused`, …), present when the module is built with `fused`. */
export const FUSED_SUFFIX = 'Fused';

/** The four float32 kernels of `dot`'s shapes, in {@link KERNELS} order. */
function float32Kernels(dot: DotShapes): number[][] {
  const fma = dot.fma ?? false;
  const tailRows = dot.tile[0] > TILE_TAIL_ROWS ? TILE_TAIL_ROWS : 0;
  return [
    dotKernel(dot.tile[0], dot.tile[1], dot.unroll, tailRows, fma, dot.wFirst),
    dotKernel(1, dot.gemv[1], dot.gemvUnroll, 0, fma),
    axpyKernel(AXPY_ROWS, AXPY_COLS, fma),
    fma ? axpyKernel(AXPY_ROWS, AXPY_COLS, true, true) : axpyKernel(1, AXPY_COLS),
  ];
}

/**
 * The module's bytes: one memory exported as `mem` (shared, with a 4 GiB maximum, when `shared`: growing it then
 * never detaches views of it, so typed arrays over it can live as long as their storage; a shared memory is imported
 * as `env.mem`, see {@link newSharedMemory}) and the four kernels
 * (`dot` picks the dot kernels' shapes, for benches of variants); with `fused` (which needs relaxed SIMD), four more
 * of those shapes on fused multiply-adds, exported as `tileFused`, `gemvFused`, `rowsFused`, `gemvRowsFused`.
 */
export function tileModuleBytes(
  shared = false,
  dot: DotShapes = DOT_SHAPES,
  fused: DotShapes | null = null,
): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => vec(Array.from({ length: n }, () => [I32]));
  const bodies = float32Kernels(dot);
  const halfNames = Object.keys(HALF_DOT_KERNELS) as (keyof typeof HALF_DOT_KERNELS)[];
  bodies.push(...halfNames.map((k) => HALF_DOT_KERNELS[k]()));
  const fusedNames = fused ? KERNELS.map((k) => `${k}${FUSED_SUFFIX}`) : [];
  if (fused) bodies.push(...float32Kernels({ ...fused, fma: true }));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    // types: 0 = (13 × i32) → () (dot form), 1 = (7 × i32) → () (axpy form), 2 = (5 × i32) → () (half dots)
    ...section(
      1,
      vec([
        [0x60, ...i32s(13), 0],
        [0x60, ...i32s(7), 0],
        [0x60, ...i32s(5), 0],
      ]),
    ),
    // A shared memory (flags 3: shared, has max; it must declare a maximum) is imported as env.mem, so that helper
    // threads can run this same compiled module on it (cpu-threads.ts).
    ...(shared ? section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, 1, ...uleb(MAX_PAGES)]])) : []),
    ...section(3, vec([[0], [0], [1], [1], ...halfNames.map(() => [2]), ...(fused ? [[0], [0], [1], [1]] : [])])),
    // memory 0: min 1 page, defined here unless shared
    ...(shared ? [] : section(5, vec([[0x00, 1]]))),
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        ...[...KERNELS, ...halfNames, ...fusedNames].map((k, i) => [...name(k), 0x00, i]),
      ]),
    ),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

/**
 * A dot-form kernel: for each of `groups` groups of C rows of bᵀ (w_c at w + c·wStride; then w += groupStep), each
 * of `rowTiles` tiles of R rows of a and, when `tail` ≠ 0 (the batched kernel only), one tile of
 * {@link TILE_TAIL_ROWS} rows, stores o[r, c] at o + r·oStride + c·oColStride (o += oGroupStep per group). a is
 * packed by {@link packTiles} with row stride aStride (a tile of R rows spans R·aStride bytes). Addresses and strides
 * in bytes; kBytes a multiple of 16.
 */
export type DotKernel = (
  a: number,
  aStride: number,
  rowTiles: number,
  w: number,
  wStride: number,
  groups: number,
  kBytes: number,
  o: number,
  oStride: number,
  groupStep: number,
  oColStride: number,
  oGroupStep: number,
  tail: number,
) => void;
type AxpyKernel = (
  a: number,
  aStride: number,
  b: number,
  bStride: number,
  kBytes: number,
  o: number,
  oStride: number,
) => void;

/**
 * The instantiated kernels (see the module comment) and their memory. `tile`, `gemv`, `rows` and `gemvRows` are read
 * at each use: the fused ones ({@link FUSED_DOT_SHAPES}) while {@link wasmRelaxedSimd} says so, else the plain ones
 * (same shapes and sum order; the fused round once per multiply-add instead of twice).
 */
export interface WasmTile {
  readonly memory: WebAssembly.Memory;
  /** The compiled module, which helper threads instantiate on the same shared memory (cpu-threads.ts). */
  readonly module: WebAssembly.Module;
  /**
   * Whether `memory` is shared: then it never detaches on growth and storages may live in it (wasm-heap.ts);
   * otherwise (a browser page without cross-origin isolation) operands are copied in for every call.
   */
  readonly shared: boolean;
  /** Whether the float32 kernels below are the fused ones now. */
  readonly fused: boolean;
  /** Dot form, 4 rows × 2 columns per tile, a tail tile of 2 rows. */
  readonly tile: DotKernel;
  /** Dot form, 1 row × 8 columns per tile. */
  readonly gemv: DotKernel;
  /** Axpy form, 4 rows × 8 columns. */
  readonly rows: AxpyKernel;
  /** Axpy form, 1 row × 8 columns. */
  readonly gemvRows: AxpyKernel;
  /** One row against float16 weight rows (half-dot-kernel.ts). */
  readonly float16: HalfDotKernel;
  /** One row against bfloat16 weight rows. */
  readonly bfloat16: HalfDotKernel;
}

/**
 * Writes the `rows` rows of length K at src[base] (row stride K) into dst[off, off + padded·Kp) in the dot kernels'
 * packed order: tiles of `tileRows` rows (the last may be shorter), each tile's rows interleaved per 4 floats of k
 * (in a tile of t rows, row r's floats [4j, 4j + 4) at tile + (j·t + r)·4; a tile of t rows takes t·Kp floats).
 * Rows [rows, padded) and floats of k in [K, Kp) are zeros.
 */
export function packTiles(
  src: Float32Array,
  base: number,
  rows: number,
  K: number,
  tileRows: number,
  padded: number,
  dst: Float32Array,
  off: number,
  Kp: number,
): void {
  if (Kp !== K || padded !== rows) dst.fill(0, off, off + padded * Kp);
  for (let t0 = 0; t0 < rows; t0 += tileRows) {
    const t = Math.min(tileRows, padded - t0);
    const tile = off + t0 * Kp;
    if (t === 1) {
      dst.set(src.subarray(base + t0 * K, base + t0 * K + K), tile);
      continue;
    }
    for (let r = 0; r < t && t0 + r < rows; r++) {
      const s = base + (t0 + r) * K;
      let d = tile + 4 * r;
      let k = 0;
      for (; k + 4 <= K; k += 4, d += 4 * t) {
        dst[d] = src[s + k]!;
        dst[d + 1] = src[s + k + 1]!;
        dst[d + 2] = src[s + k + 2]!;
        dst[d + 3] = src[s + k + 3]!;
      }
      for (let j = 0; k < K; k++, j++) dst[d + j] = src[s + k]!;
    }
  }
}

let instance: WasmTile | null | undefined;

/** A memory for a shared module (`tileModuleBytes(true)`): one page, growable to 4 GiB; throws without SharedArrayBuffer. */
export function newSharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
}

/**
 * The kernels of an instance of {@link tileModuleBytes} (on any thread that instantiates it, e.g. over the same
 * shared memory): {@link WasmTile}'s getters pick the fused kernels, when the instance has them, while
 * {@link wasmRelaxedSimd} says so, so every thread rounds alike.
 */
export function tileKernels(module: WebAssembly.Module, e: WebAssembly.Exports, shared: boolean): WasmTile {
  const hasFused = typeof e[`tile${FUSED_SUFFIX}`] === 'function';
  const fusedNow = () => hasFused && wasmRelaxedSimd();
  const kernel = <T>(k: (typeof KERNELS)[number]) => (fusedNow() ? e[`${k}${FUSED_SUFFIX}`] : e[k]) as T;
  return {
    memory: e.mem as WebAssembly.Memory,
    module,
    shared,
    get fused() {
      return fusedNow();
    },
    get tile() {
      return kernel<DotKernel>('tile');
    },
    get gemv() {
      return kernel<DotKernel>('gemv');
    },
    get rows() {
      return kernel<AxpyKernel>('rows');
    },
    get gemvRows() {
      return kernel<AxpyKernel>('gemvRows');
    },
    float16: e.float16 as HalfDotKernel,
    bfloat16: e.bfloat16 as HalfDotKernel,
  };
}

function instantiate(shared: boolean): WasmTile | null {
  // With the fused kernels where the engine has relaxed SIMD (one module, so both kinds read the same memory and
  // tests can switch between them), else (or should such a module not validate) the plain ones alone.
  for (const fused of relaxedSimdSupported() ? [FUSED_DOT_SHAPES, null] : [null]) {
    const bytes = tileModuleBytes(shared, DOT_SHAPES, fused);
    if (!WebAssembly.validate(bytes)) continue;
    const module = new WebAssembly.Module(bytes);
    const imports: WebAssembly.Imports = shared ? { env: { mem: newSharedMemory() } } : {};
    return tileKernels(module, new WebAssembly.Instance(module, imports).exports, shared);
  }
  return null;
}

/**
 * The SIMD kernels, instantiated on first use (with a shared memory where the engine allows one); null where
 * WebAssembly SIMD is unavailable (old engines, or a page whose Content-Security-Policy forbids compiling
 * WebAssembly), in which case callers use the scalar JS kernels.
 */
export function wasmTile(): WasmTile | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (typeof WebAssembly === 'undefined') return instance;
  for (const shared of [true, false]) {
    try {
      instance = instantiate(shared);
      if (instance) break;
    } catch {
      // Shared memory needs SharedArrayBuffer (cross-origin isolation in browsers): try the unshared module.
    }
  }
  return instance;
}

/** The opcode and encoding helpers, shared with the block-format kernels (wasm-block-kernels.ts). */
export const wasmAsm = { I32, V128, op, uleb, sleb, name, vec, section, get, set };
