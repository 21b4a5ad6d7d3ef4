/**
 * Bodies (locals + code) of the float32 WebAssembly SIMD kernels that wasm-tile.ts assembles into its module: the
 * dot form (`tile`, `gemv`) and the axpy form (`rows`, `gemvRows`), plain or on fused multiply-adds (see the
 * module comment of wasm-tile.ts for the layouts and why).
 *
 * @module
 */
import {
  extractLane,
  f32x4Add,
  f32x4Mul,
  f32x4RelaxedMadd,
  f32x4Splat,
  get,
  I32,
  op,
  set,
  sleb,
  tee,
  uleb,
  V128,
  v128Load,
  v128Store,
  vec,
} from './wasm-encoding.js';

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
export function dotKernel(R: number, C: number, unroll: number, tailRows = 0, fma = false, wFirst = false): number[] {
  let next = 13;
  const [g, t, aT, oT, oc, pa, wEnd, wLast] = [next++, next++, next++, next++, next++, next++, next++, next++];
  const pw = Array.from({ length: C }, () => next++);
  const i32Count = next - 13;
  const accumulators = (rows: number) => Array.from({ length: rows }, () => Array.from({ length: C }, () => next++));
  const acc = accumulators(R);
  const tailAcc = accumulators(tailRows);
  const x = Array.from({ length: R }, () => next++);
  const y = Array.from({ length: C }, () => next++);
  const zero = next++;
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
    const madd = (s: number, xv: number, yv: number) =>
      fma
        ? body.push(...get(xv), ...get(yv), ...get(s), ...f32x4RelaxedMadd, ...set(s))
        : body.push(...get(s), ...get(xv), ...get(yv), ...f32x4Mul, ...f32x4Add, ...set(s));
    const loadA = (u: number, r: number, into: number) =>
      body.push(...get(pa), ...v128Load(16 * (u * rows + r)), ...set(into));
    // One step of 16 bytes of k: the tile's a vectors, then each w vector with its multiply-adds; or (wFirst) the C w
    // vectors, then one a vector at a time. V8 (TurboFan) places all R + C loads first either way, so a tile needs
    // R + C + R·C of its 15 allocatable vector registers (4 × 2: 14, 3 × 3: 15; larger tiles spill sums).
    const step = (u: number) => {
      if (wFirst) {
        for (let c = 0; c < C; c++) body.push(...get(pw[c]!), ...v128Load(16 * u), ...set(y[c]!));
        for (let r = 0; r < rows; r++) {
          loadA(u, r, x[0]!);
          for (let c = 0; c < C; c++) madd(sums[r]![c]!, x[0]!, y[c]!);
        }
        return;
      }
      for (let r = 0; r < rows; r++) loadA(u, r, x[r]!);
      for (let c = 0; c < C; c++) {
        body.push(...get(pw[c]!), ...v128Load(16 * u), ...set(y[0]!));
        for (let r = 0; r < rows; r++) madd(sums[r]![c]!, x[r]!, y[0]!);
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

/**
 * Body of the R-row axpy-form kernel of `cols` output columns; params 0..6: a, aStride, b, bStride, kBytes, o,
 * oStride. `oneRow` (fused kernels): R copies of row 0's sums, only the first stored, since one fused chain per
 * output vector waits on the multiply-add latency (one row measured 0.7× the plain kernel, four copies ~par).
 */
export function axpyKernel(R: number, cols: number, fma = false, oneRow = false): number[] {
  const V = cols / 4;
  // Locals: k (byte offset into each row of a), row addresses of a_1.., accumulators, b's vectors, the splat.
  const k = 7;
  const aRow = (r: number) => (r === 0 || oneRow ? 0 : k + r);
  const acc = (r: number, v: number) => k + R + r * V + v;
  const y = (v: number) => acc(R - 1, V - 1) + 1 + v;
  const x = y(V);
  const body: number[] = [];
  if (!oneRow) for (let r = 1; r < R; r++) body.push(...get(aRow(r - 1)), ...get(1), op.i32Add, ...set(aRow(r)));
  // block { if kBytes == 0 break; loop { load b[k, 0..8); acc[r] += a_r[k]·b[k]; b += bStride; k += 4 } }
  body.push(op.block, 0x40, ...get(4), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  for (let v = 0; v < V; v++) body.push(...get(2), ...v128Load(16 * v), ...set(y(v)));
  for (let r = 0; r < R; r++) {
    if (r === 0 || !oneRow)
      body.push(...get(aRow(r)), ...get(k), op.i32Add, op.f32Load, 2, 0, ...f32x4Splat, ...set(x));
    for (let v = 0; v < V; v++) {
      if (fma) body.push(...get(x), ...get(y(v)), ...get(acc(r, v)), ...f32x4RelaxedMadd, ...set(acc(r, v)));
      else body.push(...get(acc(r, v)), ...get(x), ...get(y(v)), ...f32x4Mul, ...f32x4Add, ...set(acc(r, v)));
    }
  }
  body.push(...get(2), ...get(3), op.i32Add, ...set(2));
  body.push(...get(k), op.i32Const, 4, op.i32Add, op.localTee, k, ...get(4), op.i32LtU, op.brIf, 0, op.end, op.end);
  for (let r = 0; r < (oneRow ? 1 : R); r++) {
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
