/**
 * The body of CPU paged attention's WebAssembly SIMD kernel `attendRows` (module and instance: wasm-attention.ts) and
 * its parameter block. One call attends a range of query rows, each from its block table to its normalised output
 * without returning to JS, so that the rows of a step can be split across the CPU helper threads (cpu-threads.ts) as
 * ranges.
 *
 * Why one kernel: the kernels before 2026-12-05 (a `scores` and a `values` call per row, softmax weights from the row
 * kernels, the sums and the division in JS) ran at ~1.9 G multiply-adds/s in a 16-row decode step, a tenth of the
 * products' rate, and only on the calling thread; per row the JS also looked up every key's pool row and padded the
 * scores. Per row here:
 *
 * 1. the byte offsets of its keys' pool rows, walking the block table block by block (no division);
 * 2. scores of S = {@link ATTEND_STREAMS} keys per pass, far apart: with q = ⌈keys/S⌉ passes, pass i takes keys
 *    i, i + q, …, i + (S − 1)·q. Per query head, S float32 lane sums (d mod 4) over D; a 4 × 4 transpose adds each
 *    key's lanes as (l0 + l2) + (l1 + l3), and one store writes four keys' scores (the scores of pass i sit at
 *    4·S·i bytes of the head's, in that order);
 * 3. per head, w = exp(s·scale − max) in float32 lanes (the row kernels' `expOf`, wasm-rows.ts), −∞ for the pads
 *    (keys from `keys` to S·q, read at key 0's row), and l = Σ w in float64 (two f64x2 sums);
 * 4. out_h = Σ w_h[key]·V_key in pass order, the pass's keys in order, per element (one load and store of the output
 *    vector per pass); a pad adds 0·V_0, which changes nothing unless key 0's values (attended anyway) are not finite;
 * 5. out_h /= l_h (float32, l rounded once).
 *
 * Why far apart: attention reads each key and value once per row (no reuse, ~1 multiply-add per 4 bytes), so it runs
 * at the speed its pool rows arrive, and the rows of a decode step come from DRAM (streamed out of cache by the
 * weights since the last step). Consecutive keys are one in-order stream per row; S streams keep more reads in
 * flight (16 rows from DRAM: 8 keys per pass 1.1–1.17× the speed of 4, bench/paged-attention-kernels.mjs; the op
 * 1.7–1.9× main's per-row kernels on one thread, bench/paged-attention-bench.mjs, BENCHMARKS.md). Both passes read
 * every head of a key's pool row (all kv heads are one contiguous row) together.
 *
 * An output's value depends only on its row's inputs and this code, never on which thread or which range ran it.
 *
 * Half pools (a float16 / bfloat16 KV cache, half the bytes per position): the same body, generated per element type,
 * loads four halves per key or value vector and widens them exactly to float32 lanes before the same arithmetic
 * (`widenHalves`), so a half pool gives the floats a float32 pool holding the same values would. With grouped queries
 * (several query heads per kv head) each pass widens its keys, then its values, of a kv head once into the row's
 * scratch, and the group's query heads read those float32 vectors (same sums, same order).
 *
 * @module
 */
import {
  extractLane,
  f32x4Add,
  f32x4Mul,
  f32x4Splat,
  get,
  I32,
  op,
  set,
  simd,
  sleb,
  tee,
  uleb,
  V128,
  v128Load,
  v128Load32Splat,
  v128Store,
  vec,
} from './wasm-encoding.js';
import { expOf } from './wasm-rows.js';

const [F32, F64] = [0x7d, 0x7c];
const f32x4 = { sub: simd(0xe5), div: simd(0xe7), max: simd(0xe9) };
const f64x2 = { promoteLow: simd(0x5f), add: simd(0xf0), lane: (l: number) => [...simd(0x21), l] };
/** i8x16.shuffle of two f32x4 by float lanes (0–3 of the first operand, 4–7 of the second). */
const shuffle32 = (lanes: readonly number[]) => [
  ...simd(0x0d),
  ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
];
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const [i32Load, i32Store, f32Load, f32Store] = [
  (offset = 0) => [0x28, 2, ...uleb(offset)],
  (offset = 0) => [0x36, 2, ...uleb(offset)],
  (offset = 0) => [0x2a, 2, ...uleb(offset)],
  (offset = 0) => [0x38, 2, ...uleb(offset)],
];
const [IF, ELSE, I32_DIV_U, I32_REM_U, I32_AND, I32_SHL, I32_SHR_U] = [0x04, 0x05, 0x6e, 0x70, 0x71, 0x74, 0x76];
const [F32_MAX, F64_ADD, F32_DEMOTE_F64] = [0x97, 0xa0, 0xb6];
/** f32.const −∞. */
const NEG_INF_F32 = [0x43, 0x00, 0x00, 0x80, 0xff];
/** v128.const of four equal int32 lanes. */
const i32x4Const = (value: number) => {
  const lane = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
  return [...simd(0x0c), ...lane, ...lane, ...lane, ...lane];
};
const i32x4 = { shl: simd(0xab), gtS: simd(0x3b) };
const [V128_AND, V128_OR, V128_XOR] = [simd(0x4e), simd(0x50), simd(0x51)];
/** v128.load16x4_u: four 16-bit elements at the address, zero-extended to int32 lanes. */
const load16x4U = [...simd(0x04), 1, 0];
/**
 * Widens the four halves at the address on the stack to float32 lanes (the vector left on the stack); `h` and `e` are
 * v128 locals. bfloat16: the bits shifted up. float16 (F. Giesen's SSE2 formulation): e = h & 0x7fff, shifted into a
 * float32's exponent and mantissa and scaled by 2^112 (exact for normal and subnormal halves alike: it moves the
 * exponent bias from 15 to 127), the exponent made all ones where e > 0x7bff (±∞ and NaN keep their mantissa), then
 * the sign (h ^ e) shifted up: 9 operations per four values.
 */
function widenHalves(element: 'float16' | 'bfloat16', h: number, e: number): number[] {
  if (element === 'bfloat16') return [...load16x4U, op.i32Const, 16, ...i32x4.shl];
  return [
    ...[...load16x4U, ...tee(h), ...i32x4Const(0x7fff), ...V128_AND, ...tee(e), op.i32Const, 13, ...i32x4.shl],
    ...[...i32x4Const(0x77800000), ...f32x4Mul],
    ...[...get(e), ...i32x4Const(0x7bff), ...i32x4.gtS, ...i32x4Const(0x7f800000), ...V128_AND, ...V128_OR],
    ...[...get(h), ...get(e), ...V128_XOR, op.i32Const, 16, ...i32x4.shl, ...V128_OR],
  ];
}

/** Int32 fields of a call's parameter block (see {@link AttendRows}). */
export const ATTEND = {
  /** Byte address of the step's index (int32 rowSeq [N], rowKeys [N], rowSlot [N], block tables [seqs, maxBlocks]). */
  INDEX: 0,
  /** Rows N of the index. */
  ROWS: 1,
  /** Block-table entries per sequence. */
  MAX_BLOCKS: 2,
  /** Positions per block. */
  BLOCK_SIZE: 3,
  /** Byte address of row `FIRST_ROW`'s query heads ([Hq, D] float32 per row, rows in order). */
  Q: 4,
  /** Byte address of row `FIRST_ROW`'s outputs ([Hq, D] float32 per row). */
  OUT: 5,
  /** Byte address of row `FIRST_ROW`'s scratch (`SCRATCH_BYTES` per row; see {@link attendScratchBytes}). */
  SCRATCH: 6,
  /**
   * The row whose q, output and scratch sit at `Q`, `OUT` and `SCRATCH` (rows before it have none here: a step too
   * large for the work area runs in turns).
   */
  FIRST_ROW: 7,
  /** Byte address of the key pool's row 0 (rows of all kv heads, `KV_HEADS` · `HEAD_BYTES` bytes). */
  K_POOL: 8,
  /** Byte address of the value pool's row 0. */
  V_POOL: 9,
  /** Kv heads. */
  KV_HEADS: 10,
  /** Query heads per kv head. */
  GROUP: 11,
  /** Bytes of one head (4·D, a multiple of 16). */
  HEAD_BYTES: 12,
  /** Bytes between two heads' scores in the scratch: {@link attendStride} of the most keys of any row. */
  STRIDE: 13,
  /** The score scale, as float32 bits. */
  SCALE_BITS: 14,
  /** Scratch bytes per row. */
  SCRATCH_BYTES: 15,
  /**
   * Byte address of the turn's rows in the order calls take them: int32 row numbers of the step, from `FIRST_ROW`
   * on; a call's `first` and `count` index this list. Longest rows first, so that the last rows a thread takes are
   * short and the threads finish together.
   */
  ORDER: 16,
  /**
   * Bytes of one head in a pool row: `HEAD_BYTES` for float32 pools, half of it for float16 / bfloat16 ones (the
   * kernels `attendRowsF16` / `attendRowsBf16`, which widen each 4 halves of a key or value to float32 lanes).
   */
  POOL_HEAD_BYTES: 17,
} as const;

/** Element types of the KV pools the kernel reads, by the name of its export in the module (wasm-attention.ts). */
export const ATTEND_KERNELS = { attendRows: 'float32', attendRowsF16: 'float16', attendRowsBf16: 'bfloat16' } as const;
/** A pool element type the kernel reads. */
export type AttendElement = (typeof ATTEND_KERNELS)[keyof typeof ATTEND_KERNELS];
/** Int32s of a parameter block (see {@link ATTEND}; 20: what follows it stays 16-byte aligned). */
export const ATTEND_INTS = 20;

/**
 * Keys per pass of both passes (far apart: see the module comment), a multiple of 4. 8: from DRAM 1.1× the speed of
 * 4 (bench/paged-attention-kernels.mjs); 16 would need more than the 16 vector registers.
 */
export const ATTEND_STREAMS = 8;

/**
 * Scratch bytes one row needs for `heads` query heads of `headBytes` bytes (4·D) when the most keys of any row is
 * `most`: the keys' pool-row offsets and each head's scores (both for `most` rounded up to whole passes), each head's
 * sum of weights in whole vectors, then a pass's keys (or values) of one kv head widened to float32 (`streams` ·
 * `headBytes`, used by half pools with grouped queries); `streams` is the kernel's keys per pass.
 */
export function attendScratchBytes(heads: number, most: number, headBytes: number, streams = ATTEND_STREAMS): number {
  return attendStride(most, streams) * (1 + heads) + 16 * Math.ceil(heads / 4) + streams * headBytes;
}

/** Bytes between two heads' scores in a row's scratch (`ATTEND.STRIDE`): `most` keys rounded up to whole passes. */
export function attendStride(most: number, streams = ATTEND_STREAMS): number {
  return 4 * streams * Math.ceil(most / streams);
}

/** Local indices of the kernel by name, after its three parameters (params 0, first 1, count 2). */
function locals<T extends Record<string, number>>(types: T): { [K in keyof T]: number } & { decl: number[] } {
  const index = {} as Record<string, number>;
  const groups: number[][] = [];
  let next = 3;
  for (const [key, type] of Object.entries(types)) {
    index[key] = next++;
    const last = groups[groups.length - 1];
    if (last && last[1] === type) last[0]!++;
    else groups.push([1, type]);
  }
  return { ...(index as { [K in keyof T]: number }), decl: vec(groups) };
}

/**
 * The body of `attendRows(params, first, count)`: the rows ORDER[first, first + count), S keys per pass (see the
 * module comment), over pools of `element`s (halves widened to float32 lanes as they are loaded).
 */
export function attendRowsBody(S: number, element: AttendElement = 'float32'): number[] {
  const names = Array.from({ length: S }, (_, k) => k);
  const L = locals({
    ...Object.fromEntries(Object.keys(ATTEND).map((k) => [k, I32])),
    n: I32,
    next: I32,
    end: I32,
    keys: I32,
    kb: I32,
    padded: I32,
    qStep: I32,
    e: I32,
    table: I32,
    qRow: I32,
    oRow: I32,
    offs: I32,
    sc: I32,
    sums: I32,
    p: I32,
    qh: I32,
    sh: I32,
    oh: I32,
    g: I32,
    j: I32,
    d: I32,
    base: I32,
    i: I32,
    rowBytes: I32,
    headsBytes: I32,
    dh: I32,
    wide: I32,
    wd: I32,
    ...Object.fromEntries(names.map((k) => [`r${k}`, I32])),
    scale: F32,
    l: F64,
    ...Object.fromEntries(names.map((k) => [`a${k}`, V128])),
    x: V128,
    t: V128,
    r: V128,
    m: V128,
    s: V128,
    l0: V128,
    l1: V128,
    hv: V128,
    ev: V128,
  });
  const P = L as unknown as Record<keyof typeof ATTEND, number>;
  // Float32 lanes of the pool at byte `d` of a head (local `d` counts the head's float32 bytes): a float32 pool's
  // vector there, or the four halves at d / 2 (`dh`) widened.
  const half = element !== 'float32';
  const poolVector = (row: number) =>
    half
      ? [...get(row), ...get(L.dh), op.i32Add, ...widenHalves(element, L.hv, L.ev)]
      : [...get(row), ...get(L.d), op.i32Add, ...v128Load()];
  const halfOffset = half ? [...get(L.d), op.i32Const, 1, I32_SHR_U, ...set(L.dh)] : [];
  const R = L as unknown as Record<string, number>;
  const rowsK = names.map((k) => R[`r${k}`]!);
  const acc = names.map((k) => R[`a${k}`]!);
  const b: number[] = [];
  const bump = (i: number, by: number | number[]) => [
    ...get(i),
    ...(typeof by === 'number' ? [op.i32Const, ...sleb(by)] : by),
    op.i32Add,
    ...set(i),
  ];
  /** loop { body; br_if 0 while cond } with cond pushed by `cond`. */
  const doWhile = (body: number[], cond: number[]) => [op.loop, 0x40, ...body, ...cond, op.brIf, 0, op.end];
  /** block { loop { br_if 1 unless cond; body; br 0 } }. */
  const whileLoop = (cond: number[], body: number[]) => [
    ...[op.block, 0x40, op.loop, 0x40, ...cond, op.i32Eqz, op.brIf, 1],
    ...[...body, op.br, 0, op.end, op.end],
  ];
  const ltU = (a: number, c: number) => [...get(a), ...get(c), op.i32LtU];
  const shl2 = [op.i32Const, 2, I32_SHL];
  /** Zeroes [at, at + bytes) (bytes a positive multiple of 16) using `d`. */
  const zero = (at: number, bytes: number) => [
    ...[op.i32Const, 0, ...set(L.d)],
    ...doWhile([...get(at), ...get(L.d), op.i32Add, ...V128_ZERO, ...v128Store(), ...bump(L.d, 16)], ltU(L.d, bytes)),
  ];
  /** Counts local c down, as the condition of a do-while. */
  const countDown = (c: number) => [...get(c), op.i32Const, ...sleb(-1), op.i32Add, ...tee(c)];
  /** Pool `pool`'s row address of the pass's key k (offsets at offs + e + k·qStep) into local `into`. */
  const rowAt = (k: number, pool: number, into: number) => [
    ...[
      ...get(L.offs),
      ...get(L.e),
      op.i32Add,
      ...(k > 0 ? [...get(L.qStep), op.i32Const, k, op.i32Mul, op.i32Add] : []),
    ],
    ...[...i32Load(), ...get(pool), op.i32Add, ...set(into)],
  ];

  // The parameter block into locals.
  for (const [key, field] of Object.entries(ATTEND)) {
    b.push(...get(0), ...i32Load(4 * field), ...set(P[key as keyof typeof ATTEND]));
  }
  b.push(...get(0), ...f32Load(4 * ATTEND.SCALE_BITS), ...set(L.scale));
  b.push(...get(L.scale), ...f32x4Splat, ...set(L.s));
  b.push(...get(P.KV_HEADS), ...get(P.POOL_HEAD_BYTES), op.i32Mul, ...set(L.rowBytes));
  b.push(...get(P.KV_HEADS), ...get(P.HEAD_BYTES), op.i32Mul, ...get(P.GROUP), op.i32Mul, ...set(L.headsBytes));
  b.push(...get(1), ...tee(L.next), ...get(2), op.i32Add, ...set(L.end));

  const row: number[] = [...get(P.ORDER), ...get(L.next), ...shl2, op.i32Add, ...i32Load(), ...set(L.n)];
  // keys, the row's q / out / scratch, its sequence's block table; kb = 4·keys, qStep = 4·⌈keys/S⌉, padded = S·qStep
  row.push(...get(P.ROWS), ...get(L.n), op.i32Add, ...shl2, ...get(P.INDEX), op.i32Add, ...i32Load(), ...set(L.keys));
  row.push(...get(L.n), ...get(P.FIRST_ROW), op.i32Sub, ...set(L.i));
  row.push(...get(P.Q), ...get(L.i), ...get(L.headsBytes), op.i32Mul, op.i32Add, ...set(L.qRow));
  row.push(...get(P.OUT), ...get(L.i), ...get(L.headsBytes), op.i32Mul, op.i32Add, ...set(L.oRow));
  row.push(...get(P.SCRATCH), ...get(L.i), ...get(P.SCRATCH_BYTES), op.i32Mul, op.i32Add, ...set(L.offs));
  row.push(...get(L.offs), ...get(P.STRIDE), op.i32Add, ...set(L.sc));
  row.push(...get(L.offs), ...get(P.SCRATCH_BYTES), op.i32Add, ...get(P.HEAD_BYTES), op.i32Const, S, op.i32Mul);
  row.push(op.i32Sub, ...set(L.wide));
  row.push(...get(L.headsBytes), ...get(P.HEAD_BYTES), I32_DIV_U, ...get(P.STRIDE), op.i32Mul, ...get(L.sc));
  row.push(op.i32Add, ...set(L.sums));
  row.push(...get(L.n), ...shl2, ...get(P.INDEX), op.i32Add, ...i32Load()); // seq
  row.push(...get(P.MAX_BLOCKS), op.i32Mul, ...get(P.ROWS), op.i32Const, 3, op.i32Mul, op.i32Add);
  row.push(...shl2, ...get(P.INDEX), op.i32Add, ...set(L.table));
  row.push(...get(L.keys), ...shl2, ...set(L.kb));
  row.push(...get(L.keys), op.i32Const, S - 1, op.i32Add, op.i32Const, S, I32_DIV_U, ...shl2, ...tee(L.qStep));
  row.push(op.i32Const, S, op.i32Mul, ...set(L.padded));

  // 1. offsets: for each block of the table, blockSize rows rowBytes apart (the last block only up to `keys`); then
  //    the pads: key 0's row.
  const offsets: number[] = [op.i32Const, 0, ...set(L.p)];
  const block: number[] = [];
  block.push(...get(L.table), ...i32Load(), ...get(P.BLOCK_SIZE), op.i32Mul, ...get(L.rowBytes), op.i32Mul);
  block.push(...set(L.base), ...get(P.BLOCK_SIZE), ...set(L.i));
  const inBlock = [...get(L.offs), ...get(L.p), op.i32Add, ...get(L.base), ...i32Store()];
  inBlock.push(...bump(L.base, get(L.rowBytes)), ...bump(L.p, 4));
  block.push(
    ...doWhile(inBlock, [...ltU(L.p, L.kb), ...countDown(L.i), op.i32Const, 0, op.i32GtU, I32_AND]),
    ...bump(L.table, 4),
  );
  offsets.push(...doWhile(block, ltU(L.p, L.kb)));
  const pad = [...get(L.offs), ...get(L.p), op.i32Add, ...get(L.offs), ...i32Load(), ...i32Store(), ...bump(L.p, 4)];
  offsets.push(...whileLoop(ltU(L.p, L.padded), pad));

  // 2. scores, S keys per pass: per head, a_k holds the lane sums of the pass's key k.
  const scores: number[] = [op.i32Const, 0, ...set(L.e), op.i32Const, 0, ...set(L.p)];
  const pass: number[] = [];
  pass.push(...rowsK.flatMap((r, k) => rowAt(k, P.K_POOL, r)));
  pass.push(...get(L.qRow), ...set(L.qh), ...get(L.sc), ...get(L.p), op.i32Add, ...set(L.sh));
  pass.push(...get(P.KV_HEADS), ...set(L.g));
  /**
   * One query head's scores against the pass's S keys: `widened` reads them from the row's widened copy (`wide`, the
   * keys' float32 vectors interleaved per 16 bytes of d: key k's at wide + S·d + 16·k), else from the pool.
   */
  const headScores = (widened: boolean) => {
    const head: number[] = [];
    for (const a of acc) head.push(...V128_ZERO, ...set(a));
    head.push(op.i32Const, 0, ...set(L.d), ...(widened ? [...get(L.wide), ...set(L.wd)] : []));
    const dot: number[] = widened ? [] : [...halfOffset];
    dot.push(...get(L.qh), ...get(L.d), op.i32Add, ...v128Load(), ...set(L.x));
    acc.forEach((a, k) => {
      const key = widened ? [...get(L.wd), ...v128Load(16 * k)] : poolVector(rowsK[k]!);
      dot.push(...get(a), ...get(L.x), ...key, ...f32x4Mul, ...f32x4Add, ...set(a));
    });
    const step = [...dot, ...(widened ? bump(L.wd, 16 * S) : []), ...bump(L.d, 16)];
    head.push(...doWhile(step, ltU(L.d, P.HEAD_BYTES)));
    // Per four keys: [a0.0 + a0.2, a1.0 + a1.2, a0.1 + a0.3, a1.1 + a1.3] and the same of a2, a3; the halves added.
    for (let v = 0; v < S / 4; v++) {
      const [w0, w1, w2, w3] = acc.slice(4 * v, 4 * v + 4) as [number, number, number, number];
      head.push(...get(w0), ...get(w1), ...shuffle32([0, 4, 1, 5]), ...get(w0), ...get(w1));
      head.push(...shuffle32([2, 6, 3, 7]), ...f32x4Add, ...set(L.t));
      head.push(...get(w2), ...get(w3), ...shuffle32([0, 4, 1, 5]), ...get(w2), ...get(w3));
      head.push(...shuffle32([2, 6, 3, 7]), ...f32x4Add, ...set(L.r));
      head.push(...get(L.sh), ...get(L.t), ...get(L.r), ...shuffle32([0, 1, 4, 5]), ...get(L.t), ...get(L.r));
      head.push(...shuffle32([2, 3, 6, 7]), ...f32x4Add, ...v128Store(16 * v));
    }
    head.push(...bump(L.qh, get(P.HEAD_BYTES)), ...bump(L.sh, get(P.STRIDE)));
    return head;
  };
  /**
   * Widens the pass's S pool rows (one kv head: rowsK) into `wide` once, for the group's query heads to read. Why:
   * with grouped queries (GROUP > 1) every query head of the group widened the same halves again; a float16 pool
   * cost 2.4–3.3× a float32 one at TinyLlama's 8 query heads per kv head (bench/paged-attention-bench.mjs).
   */
  const widenPass = () => {
    const w: number[] = [...halfOffset];
    for (let k = 0; k < S; k++) w.push(...get(L.wd), ...poolVector(rowsK[k]!), ...v128Store(16 * k));
    w.push(...bump(L.wd, 16 * S), ...bump(L.d, 16));
    return [op.i32Const, 0, ...set(L.d), ...get(L.wide), ...set(L.wd), ...doWhile(w, ltU(L.d, P.HEAD_BYTES))];
  };
  /** Runs `perHead` for each query head of the kv head: on a widened copy when the pool holds halves and GROUP > 1. */
  const group = (perHead: (widened: boolean) => number[]) => {
    const direct = [...get(P.GROUP), ...set(L.j), ...doWhile(perHead(false), countDown(L.j))];
    if (!half) return direct;
    const widened = [...widenPass(), ...get(P.GROUP), ...set(L.j), ...doWhile(perHead(true), countDown(L.j))];
    return [...get(P.GROUP), op.i32Const, 1, op.i32GtU, IF, 0x40, ...widened, ELSE, ...direct, op.end];
  };
  const kvHead: number[] = group(headScores);
  for (const r of rowsK) kvHead.push(...bump(r, get(P.POOL_HEAD_BYTES)));
  pass.push(...doWhile(kvHead, countDown(L.g)));
  pass.push(...bump(L.p, 4 * S), ...bump(L.e, 4));
  scores.push(...whileLoop(ltU(L.e, L.qStep), pass));

  // 3. softmax weights per head, in place; l in float64 → sums (float32).
  const softmax: number[] = [...get(L.sc), ...set(L.sh), ...get(L.sums), ...set(L.oh)];
  softmax.push(...get(P.KV_HEADS), ...get(P.GROUP), op.i32Mul, ...set(L.g));
  const weights: number[] = [];
  // Pad key t (keys ≤ t < S·q, t in bytes 4t): pass t mod q, lane ⌊t/q⌋ → byte 4·S·(t mod q) + 4·⌊t/q⌋.
  weights.push(...get(L.kb), ...set(L.p));
  const padScore = [...get(L.sh), ...get(L.p), ...get(L.qStep), I32_REM_U, op.i32Const, S, op.i32Mul, op.i32Add];
  padScore.push(...get(L.p), ...get(L.qStep), I32_DIV_U, ...shl2, op.i32Add, ...NEG_INF_F32, ...f32Store());
  weights.push(...whileLoop(ltU(L.p, L.padded), [...padScore, ...bump(L.p, 4)]));
  weights.push(...NEG_INF_F32, ...f32x4Splat, ...set(L.m), op.i32Const, 0, ...set(L.p));
  const max = [...get(L.m), ...get(L.sh), ...get(L.p), op.i32Add, ...v128Load(), ...get(L.s), ...f32x4Mul];
  max.push(...f32x4.max, ...set(L.m), ...bump(L.p, 16));
  weights.push(...doWhile(max, ltU(L.p, L.padded)));
  weights.push(...get(L.m), ...extractLane(0), ...get(L.m), ...extractLane(1), F32_MAX, ...get(L.m));
  weights.push(...extractLane(2), ...get(L.m), ...extractLane(3), F32_MAX, F32_MAX, ...f32x4Splat, ...set(L.m));
  weights.push(...V128_ZERO, ...set(L.l0), ...V128_ZERO, ...set(L.l1), op.i32Const, 0, ...set(L.p));
  const w: number[] = [];
  w.push(...get(L.sh), ...get(L.p), op.i32Add, ...tee(L.i), ...get(L.i), ...v128Load(), ...get(L.s), ...f32x4Mul);
  w.push(...get(L.m), ...f32x4.sub, ...set(L.x), ...expOf(L.x, L.t, L.r), ...tee(L.x), ...v128Store());
  w.push(...get(L.l0), ...get(L.x), ...f64x2.promoteLow, ...f64x2.add, ...set(L.l0));
  w.push(...get(L.l1), ...get(L.x), ...get(L.x), ...shuffle32([2, 3, 2, 3]), ...f64x2.promoteLow, ...f64x2.add);
  w.push(...set(L.l1), ...bump(L.p, 16));
  weights.push(...doWhile(w, ltU(L.p, L.padded)));
  weights.push(...get(L.oh), ...get(L.l0), ...f64x2.lane(0), ...get(L.l0), ...f64x2.lane(1), F64_ADD);
  weights.push(...get(L.l1), ...f64x2.lane(0), ...get(L.l1), ...f64x2.lane(1), F64_ADD, F64_ADD, F32_DEMOTE_F64);
  weights.push(...f32Store(), ...bump(L.oh, 4), ...bump(L.sh, get(P.STRIDE)));
  softmax.push(...doWhile(weights, countDown(L.g)));

  // 4. values: out_h += Σ_k w_h[key k]·V_key k per pass, in pass order and k order per element.
  const values: number[] = [...zero(L.oRow, L.headsBytes), op.i32Const, 0, ...set(L.e), op.i32Const, 0, ...set(L.p)];
  const v: number[] = [];
  v.push(...rowsK.flatMap((r, k) => rowAt(k, P.V_POOL, r)));
  v.push(...get(L.oRow), ...set(L.oh), ...get(L.sc), ...get(L.p), op.i32Add, ...set(L.sh), ...get(P.KV_HEADS));
  v.push(...set(L.g));
  /** One query head's output += the pass's weighted values (`widened`: read from `wide`, as in the scores). */
  const headValues = (widened: boolean) => {
    const h: number[] = [];
    h.push(...acc.flatMap((wk, k) => [...get(L.sh), ...v128Load32Splat(4 * k), ...set(wk)]));
    h.push(op.i32Const, 0, ...set(L.d), ...(widened ? [...get(L.wide), ...set(L.wd)] : []));
    const axpy: number[] = widened ? [] : [...halfOffset];
    axpy.push(...get(L.oh), ...get(L.d), op.i32Add, ...tee(L.i), ...get(L.i), ...v128Load());
    acc.forEach((wk, k) => {
      const value = widened ? [...get(L.wd), ...v128Load(16 * k)] : poolVector(rowsK[k]!);
      axpy.push(...get(wk), ...value, ...f32x4Mul, ...f32x4Add);
    });
    const step = [...axpy, ...v128Store(), ...(widened ? bump(L.wd, 16 * S) : []), ...bump(L.d, 16)];
    h.push(...doWhile(step, ltU(L.d, P.HEAD_BYTES)));
    h.push(...bump(L.oh, get(P.HEAD_BYTES)), ...bump(L.sh, get(P.STRIDE)));
    return h;
  };
  const kvHeadV: number[] = group(headValues);
  for (const r of rowsK) kvHeadV.push(...bump(r, get(P.POOL_HEAD_BYTES)));
  v.push(...doWhile(kvHeadV, countDown(L.g)), ...bump(L.p, 4 * S), ...bump(L.e, 4));
  values.push(...whileLoop(ltU(L.e, L.qStep), v));

  // 5. out_h /= l_h
  const divide: number[] = [...get(L.oRow), ...set(L.oh), ...get(L.sums), ...set(L.sh)];
  divide.push(...get(P.KV_HEADS), ...get(P.GROUP), op.i32Mul, ...set(L.g));
  const per: number[] = [...get(L.sh), ...v128Load32Splat(), ...set(L.m), op.i32Const, 0, ...set(L.d)];
  const div = [...get(L.oh), ...get(L.d), op.i32Add, ...tee(L.i), ...get(L.i), ...v128Load(), ...get(L.m)];
  div.push(...f32x4.div, ...v128Store(), ...bump(L.d, 16));
  per.push(...doWhile(div, ltU(L.d, P.HEAD_BYTES)));
  per.push(...bump(L.oh, get(P.HEAD_BYTES)), ...bump(L.sh, 4));
  divide.push(...doWhile(per, countDown(L.g)));

  // A row without keys (none to attend) is zeros, as the JS loops give.
  row.push(...get(L.keys), op.i32Eqz, IF, 0x40, ...zero(L.oRow, L.headsBytes), ELSE);
  row.push(...offsets, ...scores, ...softmax, ...values, ...divide, op.end);
  row.push(...bump(L.next, 1));
  b.push(...whileLoop(ltU(L.next, L.end), row), op.end);
  return [...L.decl, ...b];
}
