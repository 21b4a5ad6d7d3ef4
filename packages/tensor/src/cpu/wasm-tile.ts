/**
 * A WebAssembly SIMD matmul tile, assembled here from its opcodes (no toolchain, no binary blob to trust).
 *
 * Scalar JS runs about one multiply-add per cycle (~4 GFLOP/s on the machines we measured); `f32x4` SIMD does four,
 * which is what lets 16 decode rows cost about two single-row steps. The exported function is
 *
 *   tile(a, w, stride, kBytes, o, oStride)
 *
 * with byte addresses into the module's memory: it computes the [2, 4] block o[r, c] = Σ_k a_r[k]·w_c[k] of two
 * rows a_0, a_1 (at a, a + stride) against four rows w_0..w_3 (at w, w + stride, …), each kBytes long (a multiple
 * of 16), and stores it at o with row stride oStride. Each output keeps four float32 partial sums (lanes k mod 4),
 * added up as (s0 + s1) + (s2 + s3) at the end: an element's value does not depend on which tile computed it.
 *
 * @module
 */

/** Rows of a and of w per tile: 2 × 4 keeps its 8 accumulators and 6 operands in the 16 SIMD registers of x86-64. */
export const TILE_ROWS = 2;
/** Rows of w (output columns) per tile. */
export const TILE_COLS = 4;

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
  f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32Add: 0x6a,
  f32Add: 0x92,
  simd: 0xfd,
} as const;
// SIMD opcodes after the 0xfd prefix (LEB128-encoded): v128.load 0, f32x4.extract_lane 31, f32x4.add 228, f32x4.mul 230.
const v128Load = [op.simd, 0x00, 2, 0]; // memarg: align 2^2 (our floats are 4-byte aligned), offset 0
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
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const get = (i: number) => [op.localGet, ...uleb(i)];
const set = (i: number) => [op.localSet, ...uleb(i)];

/** The module's bytes: one memory (exported as `mem`) and the `tile` function described above. */
export function tileModuleBytes(): Uint8Array<ArrayBuffer> {
  const R = TILE_ROWS;
  const C = TILE_COLS;
  // Params 0..5: a, w, stride, kBytes, o, oStride. Locals: k, row addresses of a_1.. and w_1.., accumulators, operands.
  const k = 6;
  const aRow = (r: number) => (r === 0 ? 0 : k + r);
  const wRow = (c: number) => (c === 0 ? 1 : k + R - 1 + c);
  const acc = (r: number, c: number) => k + R + C - 1 + r * C + c;
  const x = (r: number) => acc(R - 1, C - 1) + 1 + r;
  const y = (c: number) => x(R) + c;
  const body: number[] = [];
  for (let r = 1; r < R; r++) body.push(...get(aRow(r - 1)), ...get(2), op.i32Add, ...set(aRow(r)));
  for (let c = 1; c < C; c++) body.push(...get(wRow(c - 1)), ...get(2), op.i32Add, ...set(wRow(c)));
  // block { if kBytes == 0 break; loop { … k += 16; continue while k < kBytes } }
  body.push(op.block, 0x40, ...get(3), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  for (let r = 0; r < R; r++) body.push(...get(aRow(r)), ...get(k), op.i32Add, ...v128Load, ...set(x(r)));
  for (let c = 0; c < C; c++) body.push(...get(wRow(c)), ...get(k), op.i32Add, ...v128Load, ...set(y(c)));
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++)
      body.push(...get(acc(r, c)), ...get(x(r)), ...get(y(c)), ...f32x4Mul, ...f32x4Add, ...set(acc(r, c)));
  }
  body.push(...get(k), op.i32Const, 16, op.i32Add, op.localTee, k, ...get(3), op.i32LtU, op.brIf, 0, op.end, op.end);
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
  const func = [...locals, ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0]])), // type: (6 × i32) → ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, 1]])), // memory 0: min 1 page, no max
    ...section(
      7,
      vec([
        [...name('mem'), 0x02, 0],
        [...name('tile'), 0x00, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** The instantiated tile: its memory and function. */
export interface WasmTile {
  readonly memory: WebAssembly.Memory;
  readonly tile: (a: number, w: number, stride: number, kBytes: number, o: number, oStride: number) => void;
}

let instance: WasmTile | null | undefined;

/**
 * The SIMD tile, instantiated on first use; null where WebAssembly SIMD is unavailable (old engines, or a page whose
 * Content-Security-Policy forbids compiling WebAssembly), in which case callers use the scalar JS kernels.
 */
export function wasmTile(): WasmTile | null {
  if (instance !== undefined) return instance;
  try {
    const bytes = tileModuleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) {
      instance = null;
    } else {
      const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
      instance = { memory: exports.mem as WebAssembly.Memory, tile: exports.tile as WasmTile['tile'] };
    }
  } catch {
    instance = null;
  }
  return instance;
}
