/**
 * Rotary embedding in the 'half' layout (pairs i, i + Dh/2) as a WebAssembly SIMD kernel, in float64 lanes: the JS
 * loop's arithmetic (rope.ts: o0 = x0·c − x1·s, o1 = x0·s + x1·c in float64, rounded to float32 once), so the same
 * floats. Why: a 16-row stories-15m decode step rotates 2 × 16 × 288 floats per layer, ~12 µs a call in JS
 * (~5 ns per pair; 0.15 ms a step), a few µs here, most of it copying rows in and out.
 *
 * `ropeHalf(x, o, rows, heads, halfBytes, cos, sin)`: for each of `rows` rows (position) and each of its `heads`
 * heads of 2·halfBytes bytes (halfBytes a multiple of 16) at x (heads back to back, rows back to back), o = the
 * rotated head; cos and sin hold each row's Dh/2 float64 values (rows back to back, 2·halfBytes bytes each).
 *
 * @module
 */

import { get, I32, op, set, V128, v128Load, v128Store, vec } from './wasm-encoding.js';
import { ensureMemory, WORK_BYTES } from './wasm-heap.js';
import {
  addTo,
  HIGH_HALF,
  instantiateOnTileMemory,
  LOW_HALVES,
  overBytes,
  f64Lanes as v,
} from './wasm-kernel-module.js';
import { wasmTile } from './wasm-tile.js';

/** `ropeHalf`'s body: params x 0, o 1, rows 2, heads 3, halfBytes 4, cos 5, sin 6. */
function ropeHalfBody(): number[] {
  const [x, o, rows, heads, hb, cs, sn] = [0, 1, 2, 3, 4, 5, 6];
  const [h, p, twice] = [7, 8, 9]; // i32
  const [a, b, cLo, cHi, sLo, sHi] = [10, 11, 12, 13, 14, 15]; // v128
  const at = (base: number, offset: number[], plus = 0) => [...get(base), ...offset, op.i32Add, ...v128Load(plus)];
  const pOff = get(p);
  const tOff = [...get(p), ...get(p), op.i32Add]; // 2p: float64 tables
  const low = (vec: number) => [...get(vec), ...v.promoteLow];
  const high = (vec: number) => [...get(vec), ...get(vec), ...HIGH_HALF, ...v.promoteLow];
  // x0·c − x1·s (sub) or x0·s + x1·c, on lanes 0, 1 and on lanes 2, 3 in float64, demoted and joined.
  const rotate = (sub: boolean) => {
    const half = (part: (vec: number) => number[], c: number, s: number) => [
      ...[...part(a), ...get(sub ? c : s), ...v.f64Mul, ...part(b), ...get(sub ? s : c), ...v.f64Mul],
      ...(sub ? v.f64Sub : v.f64Add),
      ...v.demoteZero,
    ];
    return [...half(low, cLo, sLo), ...half(high, cHi, sHi), ...LOW_HALVES];
  };
  const body = [
    ...[...at(x, pOff), ...set(a), ...get(x), ...get(hb), op.i32Add, ...pOff, op.i32Add, ...v128Load(), ...set(b)],
    ...[...at(cs, tOff), ...set(cLo), ...at(cs, tOff, 16), ...set(cHi)],
    ...[...at(sn, tOff), ...set(sLo), ...at(sn, tOff, 16), ...set(sHi)],
    // o0 = x0·c − x1·s at o + p; o1 = x0·s + x1·c at o + halfBytes + p
    ...[...get(o), ...pOff, op.i32Add, ...rotate(true), ...v128Store()],
    ...[...get(o), ...get(hb), op.i32Add, ...pOff, op.i32Add, ...rotate(false), ...v128Store()],
  ];
  const b2: number[] = [...get(hb), ...get(hb), op.i32Add, ...set(twice)];
  b2.push(op.block, 0x40, op.loop, 0x40, ...get(rows), op.i32Eqz, op.brIf, 1);
  b2.push(...get(heads), ...set(h), op.block, 0x40, op.loop, 0x40, ...get(h), op.i32Eqz, op.brIf, 1);
  b2.push(...overBytes(p, hb, body), ...addTo(x, twice), ...addTo(o, twice));
  b2.push(...get(h), op.i32Const, 1, op.i32Sub, ...set(h), op.br, 0, op.end, op.end);
  b2.push(...addTo(cs, twice), ...addTo(sn, twice));
  b2.push(...get(rows), op.i32Const, 1, op.i32Sub, ...set(rows), op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [3, I32],
      [6, V128],
    ]),
    ...b2,
  ];
}

type RopeHalf = (
  x: number,
  o: number,
  rows: number,
  heads: number,
  halfBytes: number,
  cos: number,
  sin: number,
) => void;

let kernel: RopeHalf | null | undefined;

function ropeHalfKernel(): RopeHalf | null {
  if (kernel !== undefined) return kernel;
  const e = instantiateOnTileMemory([
    { name: 'ropeHalf', params: [I32, I32, I32, I32, I32, I32, I32], body: ropeHalfBody() },
  ]);
  kernel = (e?.ropeHalf as RopeHalf | undefined) ?? null;
  return kernel;
}

/**
 * The 'half' rotary embedding of `src` (rows × heads heads of Dh floats; Dh a multiple of 8) into `out`, each row r
 * rotated by the float64 cos and sin of its angles, `angles(r)` (Dh/2 values each at `at`), on the SIMD kernel through
 * the work area. False, having written nothing, where the kernel is unavailable, Dh is not a multiple of 8, or the
 * rows do not fit.
 */
export function simdRopeHalf(
  src: Float32Array,
  rows: number,
  heads: number,
  Dh: number,
  angles: (row: number) => { cos: Float64Array; sin: Float64Array; at: number },
  out: Float32Array,
): boolean {
  const n = src.length;
  const half = Dh / 2;
  const floats = 2 * n + 4 * rows * half; // x, o, then cos and sin as float64 (2 floats each)
  const rope = Dh % 8 === 0 && n === rows * heads * Dh ? ropeHalfKernel() : null;
  const memory = wasmTile()?.memory;
  if (!rope || !memory || 4 * floats > WORK_BYTES || !ensureMemory(memory, 4 * floats)) return false;
  const buffer = memory.buffer;
  const f = new Float32Array(buffer, 0, 2 * n);
  const table = new Float64Array(buffer, 8 * n, 2 * rows * half);
  f.set(src, 0);
  for (let r = 0; r < rows; r++) {
    const { cos, sin, at } = angles(r);
    table.set(cos.subarray(at, at + half), r * half);
    table.set(sin.subarray(at, at + half), (rows + r) * half);
  }
  rope(0, 4 * n, rows, heads, 2 * Dh, 8 * n, 8 * n + 8 * rows * half);
  out.set(f.subarray(n, 2 * n));
  return true;
}
