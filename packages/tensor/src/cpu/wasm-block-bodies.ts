/**
 * The unit bodies of the block-format kernels (wasm-block-kernels.ts): the code that dots one unit of a weight row
 * (a ggml block, or 16 halves) against every activation row of a call, per type, and the opcode helpers they share.
 * See wasm-block-kernels.ts for the layout of their operands and why the integer sums cannot overflow.
 *
 * @module
 */

import { F32, simd } from './wasm-encoding.js';
import { WORK_BYTES } from './wasm-heap.js';
import { wasmAsm } from './wasm-tile.js';

const { I32, V128, op, uleb, sleb, vec, get, set } = wasmAsm;

/** SIMD opcodes after the 0xfd prefix (LEB128 u32), as numbered by the WebAssembly SIMD specification. */
export const S = {
  load: (offset: number) => [...simd(0x00), 0, ...uleb(offset)],
  /** v128.load32_splat: the f32 / i32 at (address) + offset in all four lanes (one `vbroadcastss`). */
  load32Splat: (offset: number) => [...simd(0x09), 2, ...uleb(offset)],
  i8Splat: simd(0x0f),
  /** i8x16.shuffle of the two vectors on the stack: byte i of the result is byte lanes[i] of a ++ b. */
  shuffle: (lanes: readonly number[]) => [...simd(0x0d), ...lanes],
  i16Splat: simd(0x10),
  i32Splat: simd(0x11),
  f32Splat: simd(0x13),
  f32Lane: (lane: number) => [...simd(0x1f), lane],
  and: simd(0x4e),
  or: simd(0x50),
  i8Sub: simd(0x71),
  i16AddPairs8: simd(0x7c),
  i32AddPairs16: simd(0x7e),
  i16Shl: simd(0x8b),
  i16ShrS: simd(0x8c),
  i16ShrU: simd(0x8d),
  i16Add: simd(0x8e),
  i16Mul: simd(0x95),
  i16ExtLowS: simd(0x87),
  i16ExtLowU: simd(0x89),
  i16ExtHighU: simd(0x8a),
  mulLow8: simd(0x9c),
  mulHigh8: simd(0x9d),
  i32ExtLowS: simd(0xa7),
  i32ExtHighS: simd(0xa8),
  i32ExtLowU: simd(0xa9),
  i32ExtHighU: simd(0xaa),
  i32Shl: simd(0xab),
  i32Add: simd(0xae),
  i32Mul: simd(0xb5),
  /** i32x4.dot_i16x8_s: lane i = a[2i]·b[2i] + a[2i+1]·b[2i+1] (one `pmaddwd` on x86). */
  i32Dot16: simd(0xba),
  xor: simd(0x51),
  f32Add: simd(0xe4),
  f32Mul: simd(0xe6),
  f32FromI32: simd(0xfa),
  /**
   * i16x8.relaxed_dot_i8x16_i7x16_s (relaxed SIMD): lane i = a[2i]·b[2i] + a[2i+1]·b[2i+1], a int8, b 7-bit (one
   * `pmaddubsw`); exact and the same on every engine while b's top bits are clear (wasm-relaxed-simd.ts).
   */
  relaxedDot8: simd(0x112),
  /** i8x16.relaxed_swizzle: byte i of the result is byte b[i] of a, for b[i] < 16 (one `pshufb`). */
  relaxedSwizzle: simd(0x100),
  /** v128.load8_splat: the byte at (address) + offset in all sixteen lanes (one `vpbroadcastb`). */
  load8Splat: (offset: number) => [...simd(0x07), 0, ...uleb(offset)],
};
/** i8x16.shuffle lanes [0, 8, 1, 9, …, 7, 15]: a `relaxedDot8` of two vectors so ordered pairs products i and i + 8. */
export const PAIR_WITH_8 = Array.from({ length: 16 }, (_, i) => (i >> 1) + 8 * (i & 1));
// Scalar opcodes not in wasm-tile's table.
const i32Load8S = (offset: number) => [0x2c, 0, ...uleb(offset)];
const i32Load16U = (offset: number) => [0x2f, 0, ...uleb(offset)];
/** f32.store at (address on the stack) + offset. */
export const f32Store = (offset: number) => [0x38, 0, ...uleb(offset)];
/** i32.const v. */
export const i32c = (v: number) => [op.i32Const, ...sleb(v | 0)];
/** Scalar i32 opcodes. */
export const I = { and: 0x71, or: 0x72, shl: 0x74, shrS: 0x75, shrU: 0x76, sub: 0x6b } as const;
/** Scalar f32 opcodes (and the i32 ↔ f32 conversions). */
export const F = { add: 0x92, sub: 0x93, mul: 0x94, fromI32: 0xb2, fromBits: 0xbe } as const;
/** f32.const v. */
export const f32c = (v: number) => {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [0x43, ...b];
};
/** local.tee i. */
export const tee = (i: number) => [0x22, ...uleb(i)];
/** Byte address of the f16 → float32 table (F16_TABLE_BYTES, right above the work area; see wasm-heap.ts). */
export const F16_TABLE = WORK_BYTES;
/** F16 widening mask in i16 lanes after `>> 3` (arithmetic): the sign (bit 15) and the 12 value bits 11..0. */
export const F16_HIGH_MASK = 0x8fff8fff | 0;

/** i8x16.shuffle lanes interleaving the i16 lanes 4h..4h+3 of a (low halves) with those of b (high halves). */
const interleave16 = (h: number) =>
  Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 16) + 8 * h + 2 * (i >> 2) + (i % 2));

/**
 * Widens the 8 halves in local v to float32 lanes 0–3 in local lo and 4–7 in local hi (v is overwritten). BF16:
 * the half becomes the i32's top 16 bits (one interleave with zeros per 4). F16: the i32 sign·2^31 | (h & 0x7fff)
 * << 13, the value times 2^-112 (exact for normals, subnormals and zeros), built in i16 lanes — top 16 bits
 * (h >>ₛ 3) & 0x8fff, low 16 bits h << 13 — then interleaved: 5 vector steps per 8 halves instead of 7 for
 * sign-extending (two steps for the high half), shifting and masking each i32 lane.
 */
export function widenHalves(bf16: boolean, v: number, lo: number, hi: number, tmp: number, c: HalfConstants): number[] {
  if (bf16) {
    return [
      ...[...get(c.zero), ...get(v), ...S.shuffle(interleave16(0)), ...set(lo)],
      ...[...get(c.zero), ...get(v), ...S.shuffle(interleave16(1)), ...set(hi)],
    ];
  }
  return [
    ...[...get(v), ...i32c(3), ...S.i16ShrS, ...get(c.f16HighMask), ...S.and, ...set(tmp)],
    ...[...get(v), ...i32c(13), ...S.i16Shl, ...set(v)],
    ...[...get(v), ...get(tmp), ...S.shuffle(interleave16(0)), ...set(lo)],
    ...[...get(v), ...get(tmp), ...S.shuffle(interleave16(1)), ...set(hi)],
  ];
}

/** Locals holding the constants {@link widenHalves} needs: a zero vector and F16_HIGH_MASK splatted. */
export interface HalfConstants {
  readonly zero: number;
  readonly f16HighMask: number;
}

/** Locals of one function: each request appends one local of that type after the 10 i32 params. */
export class Locals {
  private readonly types: number[] = [];
  i32 = () => this.add(I32);
  v128 = () => this.add(V128);
  f32 = () => this.add(F32);
  private add(t: number): number {
    this.types.push(t);
    return 10 + this.types.length - 1;
  }
  encode(): number[] {
    return vec(this.types.map((t) => [1, t]));
  }
}

/** What a unit body may use: per-row addresses and accumulators, the weight pointer, constants. */
export interface Ctx {
  readonly R: number;
  readonly L: Locals;
  readonly code: number[];
  /** Local holding the address of the current unit's weight bytes. */
  readonly wp: number;
  /** Per row r: local holding that row's activation address for the current unit. */
  readonly xp: number[];
  /** Per row r: local holding that row's [dx, Σx] pairs address for the current unit. */
  readonly sp: number[];
  /** Per row r: the float32 ×4 accumulators (two for half weights). */
  readonly acc: number[];
  readonly acc2: number[];
  /** Per row r: a scalar float32 subtracted at the end (Q4_K's minimums). */
  readonly minAcc: number[];
  readonly c: Record<'low4' | 'x8888' | 'm30' | 'm32' | 'f16HighMask' | 'zero' | 'ones16' | 'pairWith8', number>;
  /** Emits `emit`'s code (a group of a K-quant super-block) as a region of its own for V8's scheduler (kernel()). */
  readonly group: (emit: () => void) => void;
}

/**
 * Pushes the f16 scalar at wp + offset as float32 in all four lanes, read from the f16 → float32 table at F16_TABLE
 * (wasm-heap.ts, filled by wasmBlockKernels): 4 steps per block scale instead of decoding the bits in ~10.
 */
function f16Splat(ctx: Ctx, offset: number): number[] {
  return [...get(ctx.wp), ...i32Load16U(offset), ...i32c(2), I.shl, ...S.load32Splat(F16_TABLE)];
}

/**
 * Pushes dw·dx in all four lanes for row r: dw a v128 local (f16Splat), dx the first float of the row's [dx, Σx]
 * pair of 32-block `block` of the current unit (0 but in a K-quant super-block). The same float32 product as a scalar
 * multiply and a splat, with two fewer steps.
 */
const blockScale = (ctx: Ctx, r: number, dw: number, block = 0) => [
  ...get(dw),
  ...get(ctx.sp[r]!),
  ...S.load32Splat(8 * block),
  ...S.f32Mul,
];

/** Pushes the i32x4 partial sums of 16 int8 products, w (a local) against the 16 bytes at x + offset. */
function dot16(wv: number, xv: number): number[] {
  return [...get(wv), ...get(xv), ...S.mulLow8, ...get(wv), ...get(xv), ...S.mulHigh8, ...S.i16Add];
}

/** acc[r] += f32(isum on the stack) · (scale, a v128, on the stack after it): emits `scale` code after the isum. */
function addScaled(ctx: Ctx, r: number, isum: number[], scale: number[]): void {
  ctx.code.push(...get(ctx.acc[r]!), ...isum, ...S.f32FromI32, ...scale, ...S.f32Mul, ...S.f32Add);
  ctx.code.push(...set(ctx.acc[r]!));
}

/**
 * Q8_0 / Q4_0: one 32-element block against one activation block per row, as four i16 × i16 pair dots
 * (`i32x4.dot_i16x8_s`, one `pmaddwd`). The activations come widened to i16 with even and odd elements apart
 * (EVEN_ODD_16 in wasm-quantize-rows.ts: vectors A = x0, x2, …, x14; B = x1, …, x15; C = x16, …, x30; D = x17, …, x31)
 * so that each weight vector is two shifts of the block's bytes read as i16 lanes, no shuffles: lane j holds bytes 2j
 * and 2j + 1. Q8_0: (lane << 8) >>ₛ 8 is element 2j (A, C), lane >>ₛ 8 element 2j + 1 (B, D). Q4_0: lane j holds the
 * nibbles of elements 2j, 2j + 16, 2j + 1, 2j + 17 from bit 0; xor 0x8888 turns each q into a 4-bit two's
 * complement q − 8, which (lane << 12 − 4i) >>ₛ 12 extracts. Against the extmul chain (≈ 21 SSE steps for 32 Q4_0
 * products) this is ≈ 11, and the products sum in i32 lanes (no i16 overflow bound needed).
 */
export function q32Body(ctx: Ctx, four: boolean): void {
  const { L, code } = ctx;
  const dw = L.v128();
  const wv = [L.v128(), L.v128(), L.v128(), L.v128()]; // weights in the A, B, C, D order of the activations
  code.push(...f16Splat(ctx, 0), ...set(dw));
  const shifted = (v: number, left: number, right: number) => [
    ...get(v),
    ...(left ? [...i32c(left), ...S.i16Shl] : []),
    ...i32c(right),
    ...S.i16ShrS,
  ];
  if (four) {
    const v = wv[3]!;
    code.push(...get(ctx.wp), ...S.load(2), ...get(ctx.c.x8888), ...S.xor, ...set(v));
    code.push(...shifted(v, 12, 12), ...set(wv[0]!), ...shifted(v, 4, 12), ...set(wv[1]!));
    code.push(...shifted(v, 8, 12), ...set(wv[2]!), ...shifted(v, 0, 12), ...set(wv[3]!));
  } else {
    for (let h = 0; h < 2; h++) {
      const [even, odd] = [wv[2 * h]!, wv[2 * h + 1]!];
      code.push(...get(ctx.wp), ...S.load(2 + 16 * h), ...set(odd));
      code.push(...shifted(odd, 8, 8), ...set(even), ...shifted(odd, 0, 8), ...set(odd));
    }
  }
  for (let r = 0; r < ctx.R; r++) {
    const dot = (i: number) => [...get(wv[i]!), ...get(ctx.xp[r]!), ...S.load(16 * i), ...S.i32Dot16];
    const isum = [...dot(0), ...dot(1), ...S.i32Add, ...dot(2), ...dot(3), ...S.i32Add, ...S.i32Add];
    addScaled(ctx, r, isum, blockScale(ctx, r, dw));
  }
}

/**
 * Q4_0 on relaxed SIMD: one block against one activation block per row, the activations int8 in order with a
 * correction of i16 lanes after them (INT8_WITH_SUMS in wasm-quantize-rows.ts: lane j = −8·(x[2j] + x[2j+1] +
 * x[2j+16] + x[2j+17])). Σ(q − 8)·x = Σq·x − 8·Σx, with the nibbles q ∈ [0, 15] as the 7-bit operand of
 * `relaxedDot8`: low nibbles are elements 0..15 (`and 0x0f`), high nibbles 16..31 (`i16x8.shr_u 4`, `and 0x0f`).
 * The two dots and the correction sum in i16 lanes (|lane| ≤ 4·127·15 before the correction) and one `pmaddwd`
 * with ones widens pairs to i32: lane i holds elements 4i..4i+3 and 4i+16..4i+19, the same integers as q32Body's
 * lanes, so the outputs equal the plain kernel's bit for bit. ≈ 9 vector steps per block against q32Body's ≈ 15.
 */
export function q4RelaxedBody(ctx: Ctx): void {
  const { L, code } = ctx;
  const dw = L.v128();
  const [lo, hi] = [L.v128(), L.v128()];
  code.push(...f16Splat(ctx, 0), ...set(dw));
  code.push(...get(ctx.wp), ...S.load(2), ...tee(lo), ...i32c(4), ...S.i16ShrU, ...get(ctx.c.low4), ...S.and);
  code.push(...set(hi), ...get(lo), ...get(ctx.c.low4), ...S.and, ...set(lo));
  for (let r = 0; r < ctx.R; r++) {
    const dot = (nibbles: number, offset: number) => [
      ...get(ctx.xp[r]!),
      ...S.load(offset),
      ...get(nibbles),
      ...S.relaxedDot8,
    ];
    const isum = [...dot(lo, 0), ...dot(hi, 16), ...S.i16Add, ...get(ctx.xp[r]!), ...S.load(32), ...S.i16Add];
    addScaled(ctx, r, [...isum, ...get(ctx.c.ones16), ...S.i32Dot16], blockScale(ctx, r, dw));
  }
}

/** v128.const: the 16 bytes given. */
export const v128Const = (bytes: readonly number[]) => [...simd(0x0c), ...bytes];
/** A v128.const of four groups of four equal bytes. */
const quads = (a: number, b: number, c: number, d: number) => v128Const([a, b, c, d].flatMap((v) => [v, v, v, v]));

/**
 * Q4_K's eight 6-bit scales and mins, decoded in SIMD and multiplied by d and dmin: sets dsc[0..1] (float32 lanes
 * d·sc_j for j = 0..3, 4..7) and dm[0..1] (dmin·m_j). Scale bytes b = wp[4..15]: for j < 4, sc_j = b[j] & 63 and
 * m_j = b[j + 4] & 63; for j ≥ 4, sc_j = (b[j + 4] & 15) | (b[j − 4] >> 6) << 4 and m_j = b[j + 4] >> 4 |
 * (b[j] >> 6) << 4. Two shuffles line up the sources as [sc0..sc7, m0..m7], masks pick each lane's bits (the i16
 * shifts' bits from the neighbouring byte are masked away), then u8 → i32 → float32 and one multiply per four: ~25
 * vector steps per super-block where the scalar decode took ~130. The floats are the scalar f32(d · f32(sc)) exactly.
 */
function q4kScales(ctx: Ctx, dsc: readonly number[], dm: readonly number[]): void {
  const { L, code } = ctx;
  const [b, v, w, dv] = [L.v128(), L.v128(), L.v128(), L.v128()];
  code.push(...get(ctx.wp), ...S.load(4), ...set(b));
  const lo = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11];
  const hi = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7];
  code.push(...get(b), ...get(b), ...S.shuffle(lo), ...set(v));
  code.push(...get(v), ...quads(63, 15, 63, 0), ...S.and);
  code.push(...get(v), ...i32c(4), ...S.i16ShrU, ...quads(0, 0, 0, 15), ...S.and, ...S.or);
  code.push(...get(b), ...get(b), ...S.shuffle(hi), ...i32c(2), ...S.i16ShrU, ...quads(0, 0x30, 0, 0x30), ...S.and);
  code.push(...S.or, ...set(v));
  for (const [half, out, scale] of [
    [S.i16ExtLowU, dsc, 0],
    [S.i16ExtHighU, dm, 2],
  ] as const) {
    code.push(...get(v), ...half, ...set(w), ...f16Splat(ctx, scale), ...set(dv));
    code.push(...get(w), ...S.i32ExtLowU, ...S.f32FromI32, ...get(dv), ...S.f32Mul, ...set(out[0]!));
    code.push(...get(w), ...S.i32ExtHighU, ...S.f32FromI32, ...get(dv), ...S.f32Mul, ...set(out[1]!));
  }
}

/**
 * Pushes i32 lanes k = s[k] + s[k + 4] of the i16 lanes of `s` (a local; `pairs` is pushed and stored in it first):
 * after a `relaxedDot8` (lane i = p[2i] + p[2i + 1] of 16 products p) that is p[2k] + p[2k+1] + p[2k+8] + p[2k+9],
 * the integers in the i32 lanes of `dot16` and `i32AddPairs16` in the plain bodies, so that the K-quant bodies'
 * float sums are the same on relaxed SIMD or not, bit for bit.
 */
function lanesOfPlain(s: number, pairs: number[]): number[] {
  return [...pairs, ...tee(s), ...S.i32ExtLowS, ...get(s), ...S.i32ExtHighS, ...S.i32Add];
}

/**
 * Q4_K: a 256-element super-block; nibble run p holds sub-block 2p (low nibbles) and 2p + 1 (high nibbles).
 * Σ (d·sc·q − dmin·m)·x = d·sc·Σ q·x − dmin·m·Σx, with Σx of the float activations (minAcc). Plain SIMD multiplies
 * int8 × int8 16 at a time (`dot16`); with `relaxed`, the nibbles q ∈ [0, 15] are the 7-bit operand of `relaxedDot8`
 * (one `pmaddubsw` per 16 products), the two dots of a sub-block summed in i16 lanes (|lane| ≤ 4·127·15), and
 * {@link lanesOfPlain} forms the plain body's i32 lanes: the same outputs.
 */
export function q4kBody(ctx: Ctx, relaxed: boolean): void {
  const { L } = ctx;
  const [dsc, dm] = [
    [L.v128(), L.v128()],
    [L.v128(), L.v128()],
  ];
  const [qa, qb, va, vb, xa, xb] = [L.v128(), L.v128(), L.v128(), L.v128(), L.v128(), L.v128()];
  q4kScales(ctx, dsc, dm);
  const scales = q4kRowScales(ctx, dsc, dm);
  for (let p = 0; p < 4; p++) ctx.group(() => q4kRun(ctx, relaxed, p, { qa, qb, va, vb, xa, xb, scales }));
}

/** Q4_K's nibble run p (see {@link q4kBody}): sub-blocks 2p and 2p + 1 against every row. */
function q4kRun(
  ctx: Ctx,
  relaxed: boolean,
  p: number,
  l: { qa: number; qb: number; va: number; vb: number; xa: number; xb: number; scales: number[][] },
): void {
  const { code } = ctx;
  const { qa, qb, va, vb, xa, xb, scales } = l;
  code.push(...get(ctx.wp), ...S.load(16 + 32 * p), ...set(qa), ...get(ctx.wp), ...S.load(32 + 32 * p), ...set(qb));
  for (let half = 0; half < 2; half++) {
    const j = 2 * p + half;
    for (const [q, v] of [
      [qa, va],
      [qb, vb],
    ] as const) {
      const shift = half === 0 ? [] : [...i32c(4), ...S.i16ShrU];
      code.push(...get(q), ...shift, ...get(ctx.c.low4), ...S.and, ...set(v));
    }
    for (let r = 0; r < ctx.R; r++) {
      let isum: number[];
      if (relaxed) {
        const dot = (v: number, offset: number) => [...get(ctx.xp[r]!), ...S.load(offset), ...get(v), ...S.relaxedDot8];
        isum = lanesOfPlain(xa, [...dot(va, 32 * j), ...dot(vb, 32 * j + 16), ...S.i16Add]);
      } else {
        code.push(...get(ctx.xp[r]!), ...S.load(32 * j), ...set(xa));
        code.push(...get(ctx.xp[r]!), ...S.load(32 * j + 16), ...set(xb));
        isum = [...dot16(va, xa), ...dot16(vb, xb), ...S.i16Add, ...S.i32AddPairs16];
      }
      const scale = scales[r]![j >> 2]!;
      addScaled(ctx, r, isum, laneSplat(scale, j & 3));
    }
  }
}

/** Pushes float32 lane `lane` of the v128 local `v` in all four lanes (one i8x16.shuffle). */
const laneSplat = (v: number, lane: number) => [
  ...get(v),
  ...get(v),
  ...S.shuffle(Array.from({ length: 16 }, (_, i) => 4 * lane + (i & 3))),
];

/** i8x16.shuffle lanes taking float32 lanes 0, 2 of a and 0, 2 of b (the dx of [dx, Σx] pairs), or 1, 3 (Σx). */
const EVEN_F32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_F32 = EVEN_F32.map((b) => b + 4);

/**
 * Pushes, for activation row r, what `use(h, dx, sx)` makes of its eight [dx, Σx] pairs at sp (a super-block's
 * 32-blocks): h = 0 for blocks 0..3, 1 for 4..7, with dx and Σx each pushing four float32 lanes (the pairs read as
 * four vectors into the locals `pairs` and split by shuffles).
 */
function withPairs(
  ctx: Ctx,
  r: number,
  pairs: readonly number[],
  use: (h: number, dx: number[], sx: number[]) => void,
): void {
  for (let i = 0; i < 4; i++) ctx.code.push(...get(ctx.sp[r]!), ...S.load(16 * i), ...set(pairs[i]!));
  for (let h = 0; h < 2; h++) {
    const [a, b] = [get(pairs[2 * h]!), get(pairs[2 * h + 1]!)];
    use(h, [...a, ...b, ...S.shuffle(EVEN_F32)], [...a, ...b, ...S.shuffle(ODD_F32)]);
  }
}

/**
 * Per activation row r of a Q4_K super-block: two locals of float32 lanes d·sc_j·dx_j (j = 0..3, 4..7), the scales
 * of its sub-blocks' integer sums, and minAcc[r] += Σ_j dmin·m_j·Σx_j (lanes summed as (0 + 1) + (2 + 3)): one vector
 * multiply per four sub-blocks where the scalar code took a load, a multiply and a splat per sub-block and row.
 */
function q4kRowScales(ctx: Ctx, dsc: readonly number[], dm: readonly number[]): number[][] {
  const { L, code } = ctx;
  const pairs = [L.v128(), L.v128(), L.v128(), L.v128()];
  const mins = L.v128();
  return Array.from({ length: ctx.R }, (_, r) => {
    const out = [L.v128(), L.v128()];
    withPairs(ctx, r, pairs, (h, dx, sx) => {
      code.push(...dx, ...get(dsc[h]!), ...S.f32Mul, ...set(out[h]!));
      code.push(...sx, ...get(dm[h]!), ...S.f32Mul, ...(h === 1 ? [...get(mins), ...S.f32Add] : []), ...set(mins));
    });
    const lane = (i: number) => [...get(mins), ...S.f32Lane(i)];
    code.push(...get(ctx.minAcc[r]!), ...lane(0), ...lane(1), F.add, ...lane(2), ...lane(3), F.add, F.add, F.add);
    code.push(...set(ctx.minAcc[r]!));
    return out;
  });
}

/**
 * Q6_K: two halves n of 128; element 128n + 32k + l (l < 32) has low bits from ql[64n + l + 32·(k & 1)] (low
 * nibble for k < 2), high bits 2k..2k+1 of qh[32n + l], value (q − 32) times int8 scale[8n + l/16 + 2k] times d.
 * The bits are moved with i16 shifts and byte masks (what crosses from the neighbouring byte is masked away), which
 * cost fewer steps than i8 shifts (x86 has none: V8 shifts i16 lanes and builds a mask each time). Plain SIMD
 * multiplies int8 q − 32 by the activations (`dot16`: i16 lane i = p[i] + p[i + 8] of the 16 products), sums lane
 * pairs into i32 and multiplies by the scale. With `relaxed`, q ∈ [0, 63] unsigned is the 7-bit operand of
 * `relaxedDot8`, q reordered by PAIR_WITH_8 once per 16 weights and the activations so stored with their −32·(x[i] +
 * x[i + 8]) corrections (the 'int8-paired-with-sums' layout, wasm-quantize-rows.ts): the dot plus the correction is
 * the plain body's i16 lane p[i] + p[i + 8] exactly (|q·x pair| ≤ 2·127·63, no saturation), and one `pmaddwd` with
 * the scale in i16 lanes gives the plain body's i32 lanes times the scale: the same integers, so the same outputs,
 * in ~5 steps per row and 16 weights where the plain body takes ~14.
 */
export function q6kBody(ctx: Ctx, relaxed: boolean): void {
  const { L, code } = ctx;
  const [qv, xv, scale, dv] = [L.v128(), L.v128(), L.v128(), L.v128()];
  const isum = Array.from({ length: ctx.R }, () => L.v128());
  code.push(...f16Splat(ctx, 208), ...set(dv));
  // One row: d·dx of its eight 32-blocks ahead, four per multiply (the same floats as a scalar multiply per block).
  // More rows: each when used (fewer live vectors).
  const pairs = ctx.R === 1 ? [L.v128(), L.v128(), L.v128(), L.v128()] : [];
  const scales = Array.from({ length: ctx.R }, (_, r) => {
    if (ctx.R > 1) return [];
    const out = [L.v128(), L.v128()];
    withPairs(ctx, r, pairs, (h, dx) => code.push(...dx, ...get(dv), ...S.f32Mul, ...set(out[h]!)));
    return out;
  });
  for (let n = 0; n < 2; n++) {
    for (let k = 0; k < 4; k++) ctx.group(() => q6kGroup(ctx, relaxed, n, k, { qv, xv, scale, dv, isum, scales }));
  }
}

/** Q6_K's 32-block k of half n (see {@link q6kBody}): its two 16-weight groups against every row, then the scale. */
function q6kGroup(
  ctx: Ctx,
  relaxed: boolean,
  n: number,
  k: number,
  l: { qv: number; xv: number; scale: number; dv: number; isum: number[]; scales: number[][] },
): void {
  const { code } = ctx;
  const { qv, xv, scale, dv, isum, scales } = l;
  for (let h = 0; h < 2; h++) {
    code.push(...get(ctx.wp), ...S.load(64 * n + 32 * (k & 1) + 16 * h));
    code.push(...(k < 2 ? [] : [...i32c(4), ...S.i16ShrU]), ...get(ctx.c.low4), ...S.and);
    // High bits 2k..2k+1 of qh moved to bits 4..5.
    code.push(...get(ctx.wp), ...S.load(128 + 32 * n + 16 * h));
    const shift = [[...i32c(4), ...S.i16Shl], [...i32c(2), ...S.i16Shl], [], [...i32c(2), ...S.i16ShrU]][k]!;
    code.push(...shift, ...get(ctx.c.m30), ...S.and, ...S.or);
    if (relaxed) {
      // The weights in PAIR_WITH_8 order (the activations come so), the scale in i16 lanes.
      code.push(...get(ctx.c.pairWith8), ...S.relaxedSwizzle, ...set(qv));
      code.push(...get(ctx.wp), ...S.load8Splat(192 + 8 * n + h + 2 * k), ...S.i16ExtLowS, ...set(scale));
    } else {
      code.push(...get(ctx.c.m32), ...S.i8Sub, ...set(qv));
      code.push(...get(ctx.wp), ...i32Load8S(192 + 8 * n + h + 2 * k), ...S.i32Splat, ...set(scale));
    }
    for (let r = 0; r < ctx.R; r++) {
      let part: number[];
      if (relaxed) {
        // 64 bytes per 32-block: the 32 paired int8, then the two 16-byte corrections.
        const at = 64 * (4 * n + k) + 16 * h;
        const x = [...get(ctx.xp[r]!), ...S.load(at), ...get(qv), ...S.relaxedDot8];
        part = [...x, ...get(ctx.xp[r]!), ...S.load(at + 32), ...S.i16Add, ...get(scale), ...S.i32Dot16];
      } else {
        code.push(...get(ctx.xp[r]!), ...S.load(32 * (4 * n + k) + 16 * h), ...set(xv));
        part = [...dot16(qv, xv), ...S.i32AddPairs16, ...get(scale), ...S.i32Mul];
      }
      if (h === 0) code.push(...part, ...set(isum[r]!));
      else code.push(...get(isum[r]!), ...part, ...S.i32Add, ...set(isum[r]!));
    }
  }
  for (let r = 0; r < ctx.R; r++) {
    const ahead = scales[r]![n];
    const rowScale = ahead ? laneSplat(ahead, k) : blockScale(ctx, r, dv, 4 * n + k);
    addScaled(ctx, r, get(isum[r]!), rowScale);
  }
}

/**
 * F16 / BF16: 16 halves widened to four float32 vectors, multiplied with float32 activations. An f16's widened bits
 * are its value times 2^-112; the driver multiplies the activations by 2^112 instead (F16_ACTIVATION_EXPONENT in
 * block-matmul-wasm.ts), which saves one multiply per four weights and leaves every product's value unchanged.
 */
export function halfBody(ctx: Ctx, bf16: boolean): void {
  const { L, code } = ctx;
  const wv = [L.v128(), L.v128(), L.v128(), L.v128()];
  const [v, tmp] = [L.v128(), L.v128()];
  for (let part = 0; part < 2; part++) {
    code.push(...get(ctx.wp), ...S.load(16 * part), ...set(v));
    code.push(...widenHalves(bf16, v, wv[2 * part]!, wv[2 * part + 1]!, tmp, ctx.c));
  }
  for (let r = 0; r < ctx.R; r++) {
    for (let q = 0; q < 4; q++) {
      const acc = q % 2 === 0 ? ctx.acc[r]! : ctx.acc2[r]!;
      code.push(...get(acc), ...get(wv[q]!), ...get(ctx.xp[r]!), ...S.load(16 * q), ...S.f32Mul, ...S.f32Add);
      code.push(...set(acc));
    }
  }
}
