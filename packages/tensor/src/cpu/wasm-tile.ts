/**
 * WebAssembly SIMD matmul kernels, assembled here from their opcodes (no toolchain, no binary blob to trust).
 *
 * Scalar JS runs about one multiply-add per cycle (~4 GFLOP/s on the machines we measured); `f32x4` SIMD does four,
 * which is what lets 16 decode rows cost about two single-row steps. Two families, one per layout of the weight,
 * so neither needs a transposed copy (all addresses are bytes into the module's memory):
 *
 * - dot form, b column-major (rows of bᵀ, i.e. a Linear weight `[out, in]` read in place):
 *   `tile(a, w, stride, kBytes, o, oStride)` computes the [R, C] block o[r, c] = Σ_k a_r[k]·w_c[k] of R rows a_r (at
 *   a + r·stride) against C rows w_c (at w + c·stride), each kBytes long (a multiple of 16), and stores it at o with
 *   row stride oStride. Each output keeps four float32 partial sums (lanes k mod 4), added up as
 *   (s0 + s1) + (s2 + s3) at the end. `tile` is 2 × 4 (batches), `gemv` is 1 × 8 (a single decode row).
 * - axpy form, b row-major `[K, N]` read in place: `rows(a, aStride, b, bStride, kBytes, o, oStride)` computes
 *   o[r, 0..8) = Σ_k a_r[k]·b[k, 0..8) for R rows, one f32x4 lane per output column (sums in k order), and stores
 *   whole vectors. `rows` is 4 × 8, `gemvRows` 1 × 8.
 *
 * In both families an element's value does not depend on which tile computed it or on M.
 *
 * @module
 */

/** Rows of a and of w per dot tile: 2 × 4 keeps its 8 accumulators and 6 operands in the 16 SIMD registers of x86-64. */
export const TILE_ROWS = 2;
/** Rows of w (output columns) per dot tile. */
export const TILE_COLS = 4;
/** Output columns of the one-row dot kernel (`gemv`): 8 independent sums hide the add latency of one row. */
export const GEMV_COLS = 8;
/** Rows of a per axpy tile (`rows`). */
export const AXPY_ROWS = 4;
/** Output columns per axpy tile (both `rows` and `gemvRows`): two f32x4 vectors of one row of b. */
export const AXPY_COLS = 8;
/** Steps of 16 bytes of k per loop iteration of the dot kernels. */
const UNROLL = 4;
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

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
/** Signed LEB128 (i32.const immediates). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const get = (i: number) => [op.localGet, ...uleb(i)];
const set = (i: number) => [op.localSet, ...uleb(i)];

/** Body (locals + code) of the R × C dot-form kernel; params 0..5: a, w, stride, kBytes, o, oStride. */
function dotKernel(R: number, C: number): number[] {
  // Locals: k, row addresses of a_1.. and w_1.., accumulators, operands.
  const k = 6;
  const aRow = (r: number) => (r === 0 ? 0 : k + r);
  const wRow = (c: number) => (c === 0 ? 1 : k + R - 1 + c);
  const acc = (r: number, c: number) => k + R + C - 1 + r * C + c;
  const x = (r: number) => acc(R - 1, C - 1) + 1 + r;
  const y = (c: number) => x(R) + c;
  const body: number[] = [];
  for (let r = 1; r < R; r++) body.push(...get(aRow(r - 1)), ...get(2), op.i32Add, ...set(aRow(r)));
  for (let c = 1; c < C; c++) body.push(...get(wRow(c - 1)), ...get(2), op.i32Add, ...set(wRow(c)));
  // One step of 16 bytes of k at byte offset `off` past each row's address + k: loads, then multiply-adds.
  const step = (off: number) => {
    for (let r = 0; r < R; r++) body.push(...get(aRow(r)), ...get(k), op.i32Add, ...v128Load(off), ...set(x(r)));
    for (let c = 0; c < C; c++) body.push(...get(wRow(c)), ...get(k), op.i32Add, ...v128Load(off), ...set(y(c)));
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++)
        body.push(...get(acc(r, c)), ...get(x(r)), ...get(y(c)), ...f32x4Mul, ...f32x4Add, ...set(acc(r, c)));
    }
  };
  const advance = (bytes: number) => body.push(...get(k), op.i32Const, ...sleb(bytes), op.i32Add, ...set(k));
  // block $done { block $tail { loop { if k + 16·U > kBytes break $tail; U steps; k += 16·U } }
  //               loop { if k >= kBytes break $done; one step; k += 16 } }
  // Unrolling puts U steps behind each address computation (memarg offsets); sums keep their k order.
  body.push(op.block, 0x40, op.block, 0x40, op.loop, 0x40);
  body.push(...get(k), op.i32Const, ...sleb(16 * UNROLL), op.i32Add, ...get(3), op.i32GtU, op.brIf, 1);
  for (let u = 0; u < UNROLL; u++) step(16 * u);
  advance(16 * UNROLL);
  body.push(op.br, 0, op.end, op.end, op.loop, 0x40);
  body.push(...get(k), ...get(3), op.i32GeU, op.brIf, 1);
  step(0);
  advance(16);
  body.push(op.br, 0, op.end, op.end);
  // Stores, param 4 (o) advancing by oStride per row: o[c] = (lane0 + lane1) + (lane2 + lane3).
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const s = acc(r, c);
      body.push(...get(4), ...get(s), ...extractLane(0), ...get(s), ...extractLane(1), op.f32Add);
      body.push(...get(s), ...extractLane(2), ...get(s), ...extractLane(3), op.f32Add, op.f32Add);
      body.push(op.f32Store, 2, ...uleb(4 * c));
    }
    if (r + 1 < R) body.push(...get(4), ...get(5), op.i32Add, ...set(4));
  }
  body.push(op.end);
  const locals = vec([
    [...uleb(1 + (R - 1) + (C - 1)), I32],
    [...uleb(R * C + R + C), V128],
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

/** Exported kernels in function-index order. */
const KERNELS = ['tile', 'gemv', 'rows', 'gemvRows'] as const;

/**
 * The module's bytes: one memory exported as `mem` (shared, with a 4 GiB maximum, when `shared`: growing it then
 * never detaches views of it, so typed arrays over it can live as long as their storage) and the four kernels.
 */
export function tileModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const i32s = (n: number) => vec(Array.from({ length: n }, () => [I32]));
  const bodies = [dotKernel(TILE_ROWS, TILE_COLS), dotKernel(1, GEMV_COLS), axpyKernel(AXPY_ROWS), axpyKernel(1)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    // types: 0 = (6 × i32) → () (dot form), 1 = (7 × i32) → () (axpy form)
    ...section(
      1,
      vec([
        [0x60, ...i32s(6), 0],
        [0x60, ...i32s(7), 0],
      ]),
    ),
    ...section(3, vec([[0], [0], [1], [1]])),
    // memory 0: min 1 page; shared memories must declare a maximum (flags 3: shared, has max)
    ...section(5, vec([shared ? [0x03, 1, ...uleb(MAX_PAGES)] : [0x00, 1]])),
    ...section(7, vec([[...name('mem'), 0x02, 0], ...KERNELS.map((k, i) => [...name(k), 0x00, i])])),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

type DotKernel = (a: number, w: number, stride: number, kBytes: number, o: number, oStride: number) => void;
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
  /** Dot form, 2 rows × 4 columns. */
  readonly tile: DotKernel;
  /** Dot form, 1 row × 8 columns. */
  readonly gemv: DotKernel;
  /** Axpy form, 4 rows × 8 columns. */
  readonly rows: AxpyKernel;
  /** Axpy form, 1 row × 8 columns. */
  readonly gemvRows: AxpyKernel;
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
