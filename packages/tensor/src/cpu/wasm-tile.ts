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
 * @module
 */

import { HALF_DOT_KERNELS, type HalfDotKernel } from './half-dot-kernel.js';
import { sleb, uleb } from './wasm-encoding.js';

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
}
/** The shapes the backend runs (constants above); a bench builds other variants with {@link tileModuleBytes}. */
export const DOT_SHAPES: DotShapes = { tile: [TILE_ROWS, TILE_COLS], gemv: [1, GEMV_COLS], unroll: 1, gemvUnroll: 2 };
/** Pages of the shared memory's maximum: the whole 32-bit address space (4 GiB), reserved, committed on growth. */
export const MAX_PAGES = 65536;

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  br: 0x0c,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  f32Add: 0x92,
  simd: 0xfd,
} as const;
// SIMD opcodes after the 0xfd prefix (LEB128-encoded): v128.load 0, v128.store 11, f32x4.splat 19,
// f32x4.extract_lane 31, f32x4.add 228, f32x4.mul 230. Memargs: align 2^2 (our floats are 4-byte aligned), offset.
const v128Load = (offset = 0) => [op.simd, 0x00, 2, ...uleb(offset)];
const v128Store = (offset = 0) => [op.simd, 0x0b, 2, ...uleb(offset)];
const f32x4Splat = [op.simd, 0x13];
const f32x4Add = [op.simd, 0xe4, 0x01];
const f32x4Mul = [op.simd, 0xe6, 0x01];
const extractLane = (lane: number) => [op.simd, 0x1f, lane];

const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const get = (i: number) => [op.localGet, ...uleb(i)];
const set = (i: number) => [op.localSet, ...uleb(i)];

/**
 * Body (locals + code) of the R × C dot-form kernel; params 0..12: a, aStride, rowTiles, w, wStride, groups, kBytes,
 * o, oStride, groupStep, oColStride, oGroupStep, tail (all bytes except the counts and the flag). For each of `groups`
 * groups (w += groupStep, o += oGroupStep after each), each of `rowTiles` tiles of R rows of a and, when `tail` ≠ 0,
 * one more tile of `tailRows` rows: o[r, c] (at o + r·oStride + c·oColStride) = Σ_k a_r[k]·w_c[k], with w_c at
 * w + c·wStride. a is packed: a tile's rows are interleaved per 16 bytes of k (row r's k-step j at
 * tile + (j·rows + r)·16; the next tile rows·aStride bytes on), so one pointer reads them all through memarg offsets;
 * every read stream advances by one pointer bump per unrolled iteration (no address add per load: measured 1.15–1.2×
 * on 16 rows, bench/wasm-dot-kernels.mjs).
 */
function dotKernel(R: number, C: number, unroll: number, tailRows = 0): number[] {
  const tee = (i: number) => [op.localTee, ...uleb(i)];
  let next = 13;
  const [g, t, aT, oT, oc, pa, wEnd, wLast] = [next++, next++, next++, next++, next++, next++, next++, next++];
  const pw = Array.from({ length: C }, () => next++);
  const i32Count = next - 13;
  const accumulators = (rows: number) => Array.from({ length: rows }, () => Array.from({ length: C }, () => next++));
  const acc = accumulators(R);
  const tailAcc = accumulators(tailRows);
  const x = Array.from({ length: R }, () => next++);
  const [y, zero] = [next++, next++];
  const v128Count = next - 13 - i32Count;
  const body: number[] = [];
  // One tile of `rows` rows at aT: o at oT; afterwards aT and oT point at the next tile.
  const tile = (rows: number, sums: number[][], steps: number) => {
    body.push(...get(3), ...set(pw[0]!));
    for (let c = 1; c < C; c++) body.push(...get(pw[c - 1]!), ...get(4), op.i32Add, ...set(pw[c]!));
    body.push(...get(3), ...get(6), op.i32Add, ...set(wEnd), ...get(aT), ...set(pa));
    // wLast: the last start of `steps` whole steps, one compare per iteration. It cannot wrap below 0: w ≥ 16 (a
    // lies below it) and kBytes ≥ 16, so wEnd ≥ 32 ≥ 16·steps for the unrolls in use (1 and 2).
    body.push(...get(wEnd), op.i32Const, ...sleb(16 * steps), op.i32Sub, ...set(wLast));
    for (const row of sums) for (const s of row) body.push(...get(zero), ...set(s));
    // One step of 16 bytes of k: the tile's a vectors, then each w vector with its multiply-adds (one w operand live
    // at a time keeps everything in the 16 SIMD registers).
    const step = (u: number) => {
      for (let r = 0; r < rows; r++) body.push(...get(pa), ...v128Load(16 * (u * rows + r)), ...set(x[r]!));
      for (let c = 0; c < C; c++) {
        body.push(...get(pw[c]!), ...v128Load(16 * u), ...set(y));
        for (let r = 0; r < rows; r++) {
          body.push(...get(sums[r]![c]!), ...get(x[r]!), ...get(y), ...f32x4Mul, ...f32x4Add, ...set(sums[r]![c]!));
        }
      }
    };
    const bump = (n: number) => {
      body.push(...get(pa), op.i32Const, ...sleb(16 * rows * n), op.i32Add, ...set(pa));
      for (const p of pw) body.push(...get(p), op.i32Const, ...sleb(16 * n), op.i32Add, ...set(p));
    };
    // block $done { block $tail { loop { if w0 + 16·U > wEnd break $tail; U steps; bump } }
    //               loop { if w0 >= wEnd break $done; one step; bump } }
    body.push(op.block, 0x40, op.block, 0x40, op.loop, 0x40);
    body.push(...get(pw[0]!), ...get(wLast), op.i32GtU, op.brIf, 1);
    for (let u = 0; u < steps; u++) step(u);
    bump(steps);
    body.push(op.br, 0, op.end, op.end, op.loop, 0x40);
    body.push(...get(pw[0]!), ...get(wEnd), op.i32GeU, op.brIf, 1);
    step(0);
    bump(1);
    body.push(op.br, 0, op.end, op.end);
    // Stores: o[r, c] = (lane0 + lane1) + (lane2 + lane3), row r at oT + r·oStride, column c at + c·oColStride.
    for (const row of sums) {
      for (const [c, s] of row.entries()) {
        if (c === 0) body.push(...get(oT), ...set(oc));
        else body.push(...get(oc), ...get(10), op.i32Add, ...set(oc));
        body.push(...get(oc), ...get(s), ...extractLane(0), ...get(s), ...extractLane(1), op.f32Add);
        body.push(...get(s), ...extractLane(2), ...get(s), ...extractLane(3), op.f32Add, op.f32Add, op.f32Store, 2, 0);
      }
      body.push(...get(oT), ...get(8), op.i32Add, ...set(oT));
    }
    body.push(...get(aT), op.i32Const, ...sleb(rows), ...get(1), op.i32Mul, op.i32Add, ...set(aT));
  };
  // block $none { if groups == 0 break; loop $group { block { if rowTiles == 0 break; loop $tile { … } } tail … } }
  body.push(...get(5), ...set(g), op.block, 0x40, ...get(5), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  body.push(...get(0), ...set(aT), ...get(7), ...set(oT), ...get(2), ...set(t));
  body.push(op.block, 0x40, ...get(2), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  tile(R, acc, unroll);
  body.push(...get(t), op.i32Const, ...sleb(-1), op.i32Add, ...tee(t), op.brIf, 0, op.end, op.end);
  if (tailRows > 0) {
    body.push(op.block, 0x40, ...get(12), op.i32Eqz, op.brIf, 0);
    tile(tailRows, tailAcc, unroll);
    body.push(op.end);
  }
  body.push(...get(3), ...get(9), op.i32Add, ...set(3), ...get(7), ...get(11), op.i32Add, ...set(7));
  body.push(...get(g), op.i32Const, ...sleb(-1), op.i32Add, ...tee(g), op.brIf, 0, op.end, op.end, op.end);
  const locals = vec([
    [...uleb(i32Count), I32],
    [...uleb(v128Count), V128],
  ]);
  return [...locals, ...body];
}

/** Body of the R-row axpy-form kernel; params 0..6: a, aStride, b, bStride, kBytes, o, oStride. */
function axpyKernel(R: number): number[] {
  const V = AXPY_COLS / 4;
  // Locals: k (byte offset into each row of a), row addresses of a_1.., accumulators, b's vectors, the splat.
  const k = 7;
  const aRow = (r: number) => (r === 0 ? 0 : k + r);
  const acc = (r: number, v: number) => k + R + r * V + v;
  const y = (v: number) => acc(R - 1, V - 1) + 1 + v;
  const x = y(V);
  const body: number[] = [];
  for (let r = 1; r < R; r++) body.push(...get(aRow(r - 1)), ...get(1), op.i32Add, ...set(aRow(r)));
  // block { if kBytes == 0 break; loop { load b[k, 0..8); acc[r] += a_r[k]·b[k]; b += bStride; k += 4 } }
  body.push(op.block, 0x40, ...get(4), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  for (let v = 0; v < V; v++) body.push(...get(2), ...v128Load(16 * v), ...set(y(v)));
  for (let r = 0; r < R; r++) {
    body.push(...get(aRow(r)), ...get(k), op.i32Add, op.f32Load, 2, 0, ...f32x4Splat, ...set(x));
    for (let v = 0; v < V; v++)
      body.push(...get(acc(r, v)), ...get(x), ...get(y(v)), ...f32x4Mul, ...f32x4Add, ...set(acc(r, v)));
  }
  body.push(...get(2), ...get(3), op.i32Add, ...set(2));
  body.push(...get(k), op.i32Const, 4, op.i32Add, op.localTee, k, ...get(4), op.i32LtU, op.brIf, 0, op.end, op.end);
  for (let r = 0; r < R; r++) {
    for (let v = 0; v < V; v++) body.push(...get(5), ...get(acc(r, v)), ...v128Store(16 * v));
    if (r + 1 < R) body.push(...get(5), ...get(6), op.i32Add, ...set(5));
  }
  body.push(op.end);
  const locals = vec([
    [...uleb(1 + (R - 1)), I32],
    [...uleb(R * V + V + 1), V128],
  ]);
  return [...locals, ...body];
}

/** Exported kernels in function-index order (then the half-weight dots, half-dot-kernel.ts). */
const KERNELS = ['tile', 'gemv', 'rows', 'gemvRows'] as const;

/**
 * The module's bytes: one memory exported as `mem` (shared, with a 4 GiB maximum, when `shared`: growing it then
 * never detaches views of it, so typed arrays over it can live as long as their storage; a shared memory is imported
 * as `env.mem`, see {@link newSharedMemory}) and the four kernels
 * (`dot` picks the dot kernels' shapes, for benches of variants).
 */
export function tileModuleBytes(shared = false, dot: DotShapes = DOT_SHAPES): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => vec(Array.from({ length: n }, () => [I32]));
  const bodies = [
    dotKernel(dot.tile[0], dot.tile[1], dot.unroll, dot.tile[0] > TILE_TAIL_ROWS ? TILE_TAIL_ROWS : 0),
    dotKernel(1, dot.gemv[1], dot.gemvUnroll),
    axpyKernel(AXPY_ROWS),
    axpyKernel(1),
  ];
  const halfNames = Object.keys(HALF_DOT_KERNELS) as (keyof typeof HALF_DOT_KERNELS)[];
  bodies.push(...halfNames.map((k) => HALF_DOT_KERNELS[k]()));
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
    ...section(3, vec([[0], [0], [1], [1], ...halfNames.map(() => [2])])),
    // memory 0: min 1 page, defined here (section 5 below) unless shared
    ...(shared ? [] : section(5, vec([[0x00, 1]]))),
    ...section(7, vec([[...name('mem'), 0x02, 0], ...[...KERNELS, ...halfNames].map((k, i) => [...name(k), 0x00, i])])),
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

/** The instantiated kernels (see the module comment) and their memory. */
export interface WasmTile {
  readonly memory: WebAssembly.Memory;
  /** The compiled module, which helper threads instantiate on the same shared memory (cpu-threads.ts). */
  readonly module: WebAssembly.Module;
  /**
   * Whether `memory` is shared: then it never detaches on growth and storages may live in it (wasm-heap.ts);
   * otherwise (a browser page without cross-origin isolation) operands are copied in for every call.
   */
  readonly shared: boolean;
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

function instantiate(shared: boolean): WasmTile | null {
  const bytes = tileModuleBytes(shared);
  if (!WebAssembly.validate(bytes)) return null;
  const module = new WebAssembly.Module(bytes);
  const e = new WebAssembly.Instance(module, shared ? { env: { mem: newSharedMemory() } } : {}).exports;
  return {
    memory: e.mem as WebAssembly.Memory,
    module,
    shared,
    tile: e.tile as DotKernel,
    gemv: e.gemv as DotKernel,
    rows: e.rows as AxpyKernel,
    gemvRows: e.gemvRows as AxpyKernel,
    float16: e.float16 as HalfDotKernel,
    bfloat16: e.bfloat16 as HalfDotKernel,
  };
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
