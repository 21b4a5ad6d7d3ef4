/**
 * WebAssembly SIMD matmul kernels, assembled here from their opcodes (no toolchain, no binary blob to trust).
 *
 * Scalar JS runs about one multiply-add per cycle (~4 GFLOP/s on the machines we measured); `f32x4` SIMD does four,
 * which is what lets 16 decode rows cost about two single-row steps. Two families, one per layout of the weight,
 * so neither needs a transposed copy (all addresses are bytes into the module's memory):
 *
 * - dot form, b column-major (rows of bᵀ, i.e. a Linear weight `[out, in]` read in place): one call computes a
 *   whole block, looping in wasm over groups of C rows of bᵀ and, per group, over tiles of R rows of a:
 *   o[r, c] = Σ_k a_r[k]·w_c[k] (see {@link DotKernel} for the addresses). Each output keeps four float32 partial sums
 *   (lanes k mod 4), added up as (s0 + s1) + (s2 + s3) at the end. The C rows of a group are far apart: column c of
 *   a block of n columns reads rows [c·n/C, (c+1)·n/C) of bᵀ in turn, so each of the C read streams runs through
 *   memory in order for the whole block. Why: with C adjacent rows per group, LLaMA's short rows (K = 288 is 18 cache
 *   lines) end C streams every group before the hardware prefetcher has caught up (measured: the 32000 × 288 LM head
 *   of stories-15m ran at 1.3–1.6 G multiply-adds per CPU-second, slower than run.c's plain C loop at 2.3, and at
 *   3.4–3.9 with far streams). `tile` is 2 × 2 (batches), `gemv` 1 × 4 (a single decode row); larger tiles measured
 *   slower, V8 spilling their operands.
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

/** Rows of a per dot tile (`tile`; numbered variants in bench/wasm-dot-kernels.mjs: 2 × 2 measured fastest for 4–16 rows). */
export const TILE_ROWS = 2;
/** Rows of w (output columns, far apart) per dot tile. */
export const TILE_COLS = 2;
/** Output columns of the one-row dot kernel (`gemv`): 4 independent sums and read streams. */
export const GEMV_COLS = 4;
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
  /** Unrolled steps (2 measured faster than 1, 3 or 4). */
  readonly unroll: number;
}
/** The shapes the backend runs (constants above); a bench builds other variants with {@link tileModuleBytes}. */
export const DOT_SHAPES: DotShapes = { tile: [TILE_ROWS, TILE_COLS], gemv: [1, GEMV_COLS], unroll: 2 };
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
 * Body (locals + code) of the R × C dot-form kernel; params 0..11: a, aStride, rowTiles, w, wStride, groups, kBytes,
 * o, oStride, groupStep, oColStride, oGroupStep (all bytes except the two counts). For each of `groups` groups
 * (w += groupStep, o += oGroupStep after each) and each of `rowTiles` tiles of R rows of a (a += R·aStride,
 * o += R·oStride): o[r, c] (at o + r·oStride + c·oColStride) = Σ_k a_r[k]·w_c[k], with w_c at w + c·wStride.
 */
function dotKernel(R: number, C: number, unroll: number): number[] {
  const tee = (i: number) => [op.localTee, ...uleb(i)];
  // Locals after the 12 params: i32 counters and addresses, then v128 accumulators, operands and a zero (never set).
  let next = 12;
  const [k, g, t, aT, oT, oc] = [next++, next++, next++, next++, next++, next++];
  const aRow = Array.from({ length: R }, () => next++);
  const wRow = Array.from({ length: C }, () => next++);
  const i32Count = next - 12;
  const acc = Array.from({ length: R }, () => Array.from({ length: C }, () => next++));
  const x = Array.from({ length: R }, () => next++);
  const [y, zero] = [next++, next++];
  const v128Count = next - 12 - i32Count;
  const body: number[] = [];
  // block $none { if groups == 0 break; loop $group { g = groups ...; loop $tile { ... } } }
  body.push(...get(5), ...set(g), op.block, 0x40, ...get(5), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  body.push(...get(3), ...set(wRow[0]!));
  for (let c = 1; c < C; c++) body.push(...get(wRow[c - 1]!), ...get(4), op.i32Add, ...set(wRow[c]!));
  body.push(...get(0), ...set(aT), ...get(7), ...set(oT), ...get(2), ...set(t), op.loop, 0x40);
  body.push(...get(aT), ...set(aRow[0]!));
  for (let r = 1; r < R; r++) body.push(...get(aRow[r - 1]!), ...get(1), op.i32Add, ...set(aRow[r]!));
  for (const row of acc) for (const s of row) body.push(...get(zero), ...set(s));
  body.push(op.i32Const, 0, ...set(k));
  // One step of 16 bytes of k at byte offset `off` past each row's address + k: a's vectors, then each w vector
  // with its R multiply-adds (one w operand live at a time keeps everything in the 16 SIMD registers).
  const step = (off: number) => {
    for (let r = 0; r < R; r++) body.push(...get(aRow[r]!), ...get(k), op.i32Add, ...v128Load(off), ...set(x[r]!));
    for (let c = 0; c < C; c++) {
      body.push(...get(wRow[c]!), ...get(k), op.i32Add, ...v128Load(off), ...set(y));
      for (let r = 0; r < R; r++) {
        body.push(...get(acc[r]![c]!), ...get(x[r]!), ...get(y), ...f32x4Mul, ...f32x4Add, ...set(acc[r]![c]!));
      }
    }
  };
  const advance = (bytes: number) => body.push(...get(k), op.i32Const, ...sleb(bytes), op.i32Add, ...set(k));
  // block $done { block $tail { loop { if k + 16·U > kBytes break $tail; U steps; k += 16·U } }
  //               loop { if k >= kBytes break $done; one step; k += 16 } }
  // Unrolling puts U steps behind each address computation (memarg offsets); sums keep their k order.
  body.push(op.block, 0x40, op.block, 0x40, op.loop, 0x40);
  body.push(...get(k), op.i32Const, ...sleb(16 * unroll), op.i32Add, ...get(6), op.i32GtU, op.brIf, 1);
  for (let u = 0; u < unroll; u++) step(16 * u);
  advance(16 * unroll);
  body.push(op.br, 0, op.end, op.end, op.loop, 0x40);
  body.push(...get(k), ...get(6), op.i32GeU, op.brIf, 1);
  step(0);
  advance(16);
  body.push(op.br, 0, op.end, op.end);
  // Stores: o[r, c] = (lane0 + lane1) + (lane2 + lane3), row r at oT + r·oStride, column c at + c·oColStride.
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const s = acc[r]![c]!;
      if (c === 0) body.push(...get(oT), ...set(oc));
      else body.push(...get(oc), ...get(10), op.i32Add, ...set(oc));
      body.push(...get(oc), ...get(s), ...extractLane(0), ...get(s), ...extractLane(1), op.f32Add);
      body.push(...get(s), ...extractLane(2), ...get(s), ...extractLane(3), op.f32Add, op.f32Add, op.f32Store, 2, 0);
    }
    body.push(...get(oT), ...get(8), op.i32Add, ...set(oT));
  }
  // Next row tile (aT = last row + aStride), then the next group.
  body.push(...get(aRow[R - 1]!), ...get(1), op.i32Add, ...set(aT));
  body.push(...get(t), op.i32Const, ...sleb(-1), op.i32Add, ...tee(t), op.brIf, 0, op.end);
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
 * never detaches views of it, so typed arrays over it can live as long as their storage) and the four kernels
 * (`dot` picks the dot kernels' shapes, for benches of variants).
 */
export function tileModuleBytes(shared = false, dot: DotShapes = DOT_SHAPES): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => vec(Array.from({ length: n }, () => [I32]));
  const bodies = [
    dotKernel(dot.tile[0], dot.tile[1], dot.unroll),
    dotKernel(1, dot.gemv[1], dot.unroll),
    axpyKernel(AXPY_ROWS),
    axpyKernel(1),
  ];
  const halfNames = Object.keys(HALF_DOT_KERNELS) as (keyof typeof HALF_DOT_KERNELS)[];
  bodies.push(...halfNames.map((k) => HALF_DOT_KERNELS[k]()));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    // types: 0 = (12 × i32) → () (dot form), 1 = (7 × i32) → () (axpy form), 2 = (5 × i32) → () (half dots)
    ...section(
      1,
      vec([
        [0x60, ...i32s(12), 0],
        [0x60, ...i32s(7), 0],
        [0x60, ...i32s(5), 0],
      ]),
    ),
    ...section(3, vec([[0], [0], [1], [1], ...halfNames.map(() => [2])])),
    // memory 0: min 1 page; shared memories must declare a maximum (flags 3: shared, has max)
    ...section(5, vec([shared ? [0x03, 1, ...uleb(MAX_PAGES)] : [0x00, 1]])),
    ...section(7, vec([[...name('mem'), 0x02, 0], ...[...KERNELS, ...halfNames].map((k, i) => [...name(k), 0x00, i])])),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

/**
 * A dot-form kernel: for each of `groups` groups of C rows of bᵀ (w_c at w + c·wStride; then w += groupStep) and
 * each of `rowTiles` tiles of R rows of a (a_r at a + r·aStride, then a += R·aStride), stores o[r, c] at
 * o + r·oStride + c·oColStride (o += oGroupStep per group). Addresses and strides in bytes; kBytes a multiple of 16.
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
  /**
   * Whether `memory` is shared: then it never detaches on growth and storages may live in it (wasm-heap.ts);
   * otherwise (a browser page without cross-origin isolation) operands are copied in for every call.
   */
  readonly shared: boolean;
  /** Dot form, 2 rows × 2 columns per tile. */
  readonly tile: DotKernel;
  /** Dot form, 1 row × 4 columns per tile. */
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

let instance: WasmTile | null | undefined;

function instantiate(shared: boolean): WasmTile | null {
  const bytes = tileModuleBytes(shared);
  if (!WebAssembly.validate(bytes)) return null;
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  return {
    memory: e.mem as WebAssembly.Memory,
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
