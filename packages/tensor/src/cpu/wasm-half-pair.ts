/**
 * The one-row (decode) kernel of half-float weights that dots two weight rows per pass: each 4-lane load of the
 * activations serves both rows, and the loop's address steps and branch are paid once per two rows.
 *
 * Why: for one activation row a half-weight unit is widened (3 vector steps per 4 weights) and used once, so the
 * activation loads and loop steps are a large share of the work; sharing them over two weight rows cuts the steps
 * per weight by ~15 % (packages/tensor/bench/block-gemv.mjs, BENCHMARKS.md).
 *
 * Signature and operands as every block kernel (wasm-block-kernels.ts) with R = 1; `n` must be even (the driver
 * sends an odd last row to the one-row kernel).
 *
 * @module
 */
import { F16_HIGH_MASK, f32Store, I, i32c, Locals, S, tee, widenHalves } from './wasm-block-bodies.js';
import { wasmAsm } from './wasm-tile.js';

const { op, get, set } = wasmAsm;
/** Parameter indices (the block kernels' signature). */
const P = { x: 0, w: 4, wStride: 5, rowBytes: 6, n: 7, o: 8 } as const;

/** The whole function (locals + code) of the two-weight-row kernel for F16 (or BF16) weights, one activation row. */
export function halfPairKernel(bf16: boolean): number[] {
  const L = new Locals();
  const code: number[] = [];
  const [wp, wq, wEnd, xp, ro] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  // acc[row][lo/hi]: two float32 ×4 chains per weight row.
  const acc = [
    [L.v128(), L.v128()],
    [L.v128(), L.v128()],
  ];
  const [xa, xb, v, tmp, lo, hi] = [L.v128(), L.v128(), L.v128(), L.v128(), L.v128(), L.v128()];
  const c = { zero: L.v128(), f16HighMask: L.v128() }; // locals start zeroed
  code.push(...i32c(F16_HIGH_MASK), ...S.i32Splat, ...set(c.f16HighMask));
  // block $exit { loop $rows { if n < 2 break; two weight rows; n -= 2 } }
  code.push(op.block, 0x40, op.loop, 0x40, ...get(P.n), ...i32c(2), op.i32LtU, op.brIf, 1);
  code.push(...get(P.w), ...tee(wp), ...get(P.wStride), op.i32Add, ...set(wq));
  code.push(...get(P.w), ...get(P.rowBytes), op.i32Add, ...set(wEnd), ...get(P.x), ...set(xp));
  for (const pair of acc) for (const a of pair) code.push(...i32c(0), ...S.i32Splat, ...set(a));
  code.push(op.block, 0x40, ...get(wp), ...get(wEnd), op.i32GeU, op.brIf, 0, op.loop, 0x40);
  for (let part = 0; part < 2; part++) {
    code.push(...get(xp), ...S.load(32 * part), ...set(xa), ...get(xp), ...S.load(32 * part + 16), ...set(xb));
    for (let row = 0; row < 2; row++) {
      code.push(...get(row === 0 ? wp : wq), ...S.load(16 * part), ...set(v), ...widenHalves(bf16, v, lo, hi, tmp, c));
      for (const [a, wv, xv] of [
        [acc[row]![0]!, lo, xa],
        [acc[row]![1]!, hi, xb],
      ] as const) {
        code.push(...get(a), ...get(wv), ...get(xv), ...S.f32Mul, ...S.f32Add, ...set(a));
      }
    }
  }
  code.push(...get(wq), ...i32c(32), op.i32Add, ...set(wq), ...get(xp), ...i32c(64), op.i32Add, ...set(xp));
  code.push(...get(wp), ...i32c(32), op.i32Add, ...tee(wp), ...get(wEnd), op.i32LtU, op.brIf, 0, op.end, op.end);
  // o[ro + 4·row] = (lane0 + lane1) + (lane2 + lane3) of lo + hi.
  for (let row = 0; row < 2; row++) {
    const [lo, hi] = acc[row]!;
    code.push(...get(lo!), ...get(hi!), ...S.f32Add, ...set(lo!));
    code.push(...get(P.o), ...get(ro), op.i32Add);
    code.push(...get(lo!), ...S.f32Lane(0), ...get(lo!), ...S.f32Lane(1), op.f32Add);
    code.push(...get(lo!), ...S.f32Lane(2), ...get(lo!), ...S.f32Lane(3), op.f32Add, op.f32Add);
    code.push(...f32Store(4 * row));
  }
  code.push(...get(ro), ...i32c(8), op.i32Add, ...set(ro));
  code.push(...get(P.w), ...get(P.wStride), ...i32c(1), I.shl, op.i32Add, ...set(P.w));
  code.push(...get(P.n), ...i32c(2), I.sub, ...set(P.n), op.br, 0, op.end, op.end, op.end);
  return [...L.encode(), ...code];
}
