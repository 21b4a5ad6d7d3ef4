/**
 * WebAssembly SIMD kernels of x · Wᵀ for weights in ggml block formats (Q8_0, Q4_0, Q4_K, Q6_K) and half floats
 * (F16, BF16), assembled from opcodes like the float32 tiles (wasm-tile.ts, whose encoding helpers they share) and
 * reading the weight's bytes in place in the same shared wasm memory (wasm-heap.ts).
 *
 * Why integer dots: scalar JS decodes and multiplies one weight at a time. As llama.cpp does, the block kernels take
 * the activation row quantized to int8 per 32-element block (scale dx, |q| ≤ 127, done once per call by the
 * driver, block-matmul-wasm.ts) and multiply int8 weights × int8 activations 16 at a time (`i16x8.extmul_*_i8x16_s`,
 * pairs summed in i16 lanes, then `i32x4.extadd_pairwise_i16x8_s`), one float multiply per block by dw·dx. The i16
 * sums cannot overflow: Q8_0 sums 2 products ≤ 128·127; Q4_0 4 products ≤ 8·127; Q4_K 4 products ≤ 15·127; Q6_K
 * 2 products ≤ 32·127. Half floats widen to float32 in SIMD (bf16: shift left 16; f16: sign-extend, shift left 13,
 * keep sign and the 15 value bits, times 2^112, exact for normals, subnormals and zeros; ±inf/NaN are not expected
 * in weights and come out as large finite values) against float32 activations.
 *
 * Every kernel has the signature `(x, xStride, xs, xsStride, w, wStride, rowBytes, n, o, oStride)` (byte
 * addresses and strides): for R rows of activations at x + r·xStride (int8, or float32 for half weights) with their
 * per-32-block pairs [dx, Σx] (float32) at xs + r·xsStride, and n weight rows at w + i·wStride of which the first
 * rowBytes (whole units, see {@link BLOCK_UNITS}) are dotted, it stores o[r·oStride + 4i] = row r · weight row i.
 * A weight unit is read once for all R rows: decode (batched decode, prefill) costs little more than one row.
 *
 * @module
 */
import type { BlockType } from '../backend/backend.js';
import { wasmAsm, wasmTile } from './wasm-tile.js';

const { I32, V128, op, uleb, sleb, name, vec, section, get, set } = wasmAsm;
const F32 = 0x7d;

/** Geometry of one unit a kernel loop step consumes: weight bytes, elements, and activation bytes. */
export interface BlockUnit {
  /** Bytes of weight per unit (one ggml block, or 16 halves). */
  readonly bytes: number;
  /** Elements per unit. */
  readonly elements: number;
  /** Whether the activations are int8 with per-32 scales (else float32). */
  readonly int8: boolean;
}

/** The unit of each type; half floats go 16 at a time (a tail of fewer is added by the driver). */
export const BLOCK_UNITS: Record<BlockType, BlockUnit> = {
  Q8_0: { bytes: 34, elements: 32, int8: true },
  Q4_0: { bytes: 18, elements: 32, int8: true },
  Q4_K: { bytes: 144, elements: 256, int8: true },
  Q6_K: { bytes: 210, elements: 256, int8: true },
  F16: { bytes: 32, elements: 16, int8: false },
  BF16: { bytes: 32, elements: 16, int8: false },
};

/** Rows of activations one kernel call takes at most; kernels exist for 1..MAX_ROWS rows. */
export const MAX_ROWS = 4;

// SIMD opcodes after the 0xfd prefix (LEB128 u32), as numbered by the WebAssembly SIMD specification.
const simd = (code: number) => [op.simd, ...uleb(code)];
const S = {
  load: (offset: number) => [...simd(0x00), 0, ...uleb(offset)],
  i8Splat: simd(0x0f),
  i32Splat: simd(0x11),
  f32Splat: simd(0x13),
  f32Lane: (lane: number) => [...simd(0x1f), lane],
  and: simd(0x4e),
  or: simd(0x50),
  i8Shl: simd(0x6b),
  i8ShrU: simd(0x6d),
  i8Sub: simd(0x71),
  i32AddPairs16: simd(0x7e),
  i16Add: simd(0x8e),
  mulLow8: simd(0x9c),
  mulHigh8: simd(0x9d),
  i32ExtLowS: simd(0xa7),
  i32ExtHighS: simd(0xa8),
  i32ExtLowU: simd(0xa9),
  i32ExtHighU: simd(0xaa),
  i32Shl: simd(0xab),
  i32Add: simd(0xae),
  i32Mul: simd(0xb5),
  f32Add: simd(0xe4),
  f32Mul: simd(0xe6),
  f32FromI32: simd(0xfa),
};
// Scalar opcodes not in wasm-tile's table.
const i32Load8S = (offset: number) => [0x2c, 0, ...uleb(offset)];
const i32Load8U = (offset: number) => [0x2d, 0, ...uleb(offset)];
const i32Load16U = (offset: number) => [0x2f, 0, ...uleb(offset)];
const f32Load = (offset: number) => [0x2a, 0, ...uleb(offset)];
const f32Store = (offset: number) => [0x38, 0, ...uleb(offset)];
const i32c = (v: number) => [op.i32Const, ...sleb(v | 0)];
const I = { and: 0x71, or: 0x72, shl: 0x74, shrS: 0x75, shrU: 0x76, sub: 0x6b } as const;
const F = { add: 0x92, sub: 0x93, mul: 0x94, fromI32: 0xb2, fromBits: 0xbe } as const;
const f32c = (v: number) => {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [0x43, ...b];
};
const tee = (i: number) => [0x22, ...uleb(i)];
/** f16 mask after `sign-extend, << 13`: the sign (bit 31) and the 15 value bits (27..13). */
const F16_MASK = 0x8fffe000 | 0;

/** Locals of one function: each request appends one local of that type after the 10 i32 params. */
class Locals {
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

/** Parameter indices of every kernel. */
const P = { x: 0, xStride: 1, xs: 2, xsStride: 3, w: 4, wStride: 5, rowBytes: 6, n: 7, o: 8, oStride: 9 } as const;

/** What a unit body may use: per-row addresses and accumulators, the weight pointer, constants. */
interface Ctx {
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
  readonly c: Record<'low4' | 'eight' | 'm30' | 'm32' | 'f16Mask' | 'pow112', number>;
}

/** Pushes an f16 scalar at wp + offset as float32 (same bit trick as the SIMD widening). */
function f16Scalar(ctx: Ctx, offset: number): number[] {
  return [
    ...get(ctx.wp),
    ...i32Load16U(offset),
    ...i32c(16),
    I.shl,
    ...i32c(3),
    I.shrS,
    ...i32c(F16_MASK),
    I.and,
    F.fromBits,
    ...f32c(2 ** 112),
    F.mul,
  ];
}

/** Pushes the i32x4 partial sums of 16 int8 products, w (a local) against the 16 bytes at x + offset. */
function dot16(wv: number, xv: number): number[] {
  return [...get(wv), ...get(xv), ...S.mulLow8, ...get(wv), ...get(xv), ...S.mulHigh8, ...S.i16Add];
}

/** acc[r] += f32(isum on the stack) · (scale on the stack after it): emits `scale` code after the isum. */
function addScaled(ctx: Ctx, r: number, isum: number[], scale: number[]): void {
  ctx.code.push(...get(ctx.acc[r]!), ...isum, ...S.f32FromI32, ...scale, ...S.f32Splat, ...S.f32Mul, ...S.f32Add);
  ctx.code.push(...set(ctx.acc[r]!));
}

/** Q8_0 / Q4_0: one 32-element block against one activation block per row. */
function q32Body(ctx: Ctx, four: boolean): void {
  const { L, code } = ctx;
  const dw = L.f32();
  const [wa, wb, xa, xb] = [L.v128(), L.v128(), L.v128(), L.v128()];
  code.push(...f16Scalar(ctx, 0), ...set(dw));
  if (four) {
    // Low nibbles are elements 0..15, high nibbles 16..31; value q − 8.
    code.push(...get(ctx.wp), ...S.load(2), ...tee(wb));
    code.push(...get(ctx.c.low4), ...S.and, ...get(ctx.c.eight), ...S.i8Sub, ...set(wa));
    code.push(...get(wb), ...i32c(4), ...S.i8ShrU, ...get(ctx.c.eight), ...S.i8Sub, ...set(wb));
  } else {
    code.push(...get(ctx.wp), ...S.load(2), ...set(wa), ...get(ctx.wp), ...S.load(18), ...set(wb));
  }
  for (let r = 0; r < ctx.R; r++) {
    code.push(...get(ctx.xp[r]!), ...S.load(0), ...set(xa), ...get(ctx.xp[r]!), ...S.load(16), ...set(xb));
    // Q4_0: four products ≤ 8·127 per i16 lane fit; Q8_0: two ≤ 128·127 do, so widen each half first.
    const isum = four
      ? [...dot16(wa, xa), ...dot16(wb, xb), ...S.i16Add, ...S.i32AddPairs16]
      : [...dot16(wa, xa), ...S.i32AddPairs16, ...dot16(wb, xb), ...S.i32AddPairs16, ...S.i32Add];
    addScaled(ctx, r, isum, [...get(dw), ...get(ctx.sp[r]!), ...f32Load(0), F.mul]);
  }
}

/** The 6-bit scale (or min) of Q4_K sub-block j, pushed as i32; scale bytes start at wp + 4. */
function kScale(ctx: Ctx, j: number, min: boolean): number[] {
  const byte = (i: number) => [...get(ctx.wp), ...i32Load8U(4 + i)];
  if (j < 4) return [...byte(j + (min ? 4 : 0)), ...i32c(63), I.and];
  const low = min ? [...byte(j + 4), ...i32c(4), I.shrU] : [...byte(j + 4), ...i32c(15), I.and];
  return [...low, ...byte(min ? j : j - 4), ...i32c(6), I.shrU, ...i32c(4), I.shl, I.or];
}

/** Q4_K: a 256-element super-block; nibble run p holds sub-block 2p (low nibbles) and 2p + 1 (high nibbles). */
function q4kBody(ctx: Ctx): void {
  const { L, code } = ctx;
  const [d, dmin, dsc, dm] = [L.f32(), L.f32(), L.f32(), L.f32()];
  const [qa, qb, va, vb, xa, xb] = [L.v128(), L.v128(), L.v128(), L.v128(), L.v128(), L.v128()];
  code.push(...f16Scalar(ctx, 0), ...set(d), ...f16Scalar(ctx, 2), ...set(dmin));
  for (let p = 0; p < 4; p++) {
    code.push(...get(ctx.wp), ...S.load(16 + 32 * p), ...set(qa), ...get(ctx.wp), ...S.load(32 + 32 * p), ...set(qb));
    for (let half = 0; half < 2; half++) {
      const j = 2 * p + half;
      for (const [q, v] of [
        [qa, va],
        [qb, vb],
      ] as const) {
        if (half === 0) code.push(...get(q), ...get(ctx.c.low4), ...S.and, ...set(v));
        else code.push(...get(q), ...i32c(4), ...S.i8ShrU, ...set(v));
      }
      code.push(...get(d), ...kScale(ctx, j, false), F.fromI32, F.mul, ...set(dsc));
      code.push(...get(dmin), ...kScale(ctx, j, true), F.fromI32, F.mul, ...set(dm));
      for (let r = 0; r < ctx.R; r++) {
        code.push(...get(ctx.xp[r]!), ...S.load(32 * j), ...set(xa));
        code.push(...get(ctx.xp[r]!), ...S.load(32 * j + 16), ...set(xb));
        const isum = [...dot16(va, xa), ...dot16(vb, xb), ...S.i16Add, ...S.i32AddPairs16];
        addScaled(ctx, r, isum, [...get(dsc), ...get(ctx.sp[r]!), ...f32Load(8 * j), F.mul]);
        // Σ (d·sc·q − dmin·m)·x = d·sc·Σ q·x − dmin·m·Σx, with Σx of the float activations.
        code.push(...get(ctx.minAcc[r]!), ...get(dm), ...get(ctx.sp[r]!), ...f32Load(8 * j + 4), F.mul, F.add);
        code.push(...set(ctx.minAcc[r]!));
      }
    }
  }
}

/**
 * Q6_K: two halves n of 128; element 128n + 32k + l (l < 32) has low bits from ql[64n + l + 32·(k & 1)] (low
 * nibble for k < 2), high bits 2k..2k+1 of qh[32n + l], value (q − 32) times int8 scale[8n + l/16 + 2k] times d.
 */
function q6kBody(ctx: Ctx): void {
  const { L, code } = ctx;
  const d = L.f32();
  const [qv, xv] = [L.v128(), L.v128()];
  const isum = Array.from({ length: ctx.R }, () => L.v128());
  code.push(...f16Scalar(ctx, 208), ...set(d));
  for (let n = 0; n < 2; n++) {
    for (let k = 0; k < 4; k++) {
      for (let h = 0; h < 2; h++) {
        code.push(...get(ctx.wp), ...S.load(64 * n + 32 * (k & 1) + 16 * h));
        code.push(...(k < 2 ? [...get(ctx.c.low4), ...S.and] : [...i32c(4), ...S.i8ShrU]));
        // High bits 2k..2k+1 of qh moved to bits 4..5.
        code.push(...get(ctx.wp), ...S.load(128 + 32 * n + 16 * h));
        const shift = [[...i32c(4), ...S.i8Shl], [...i32c(2), ...S.i8Shl], [], [...i32c(2), ...S.i8ShrU]][k]!;
        code.push(...shift, ...get(ctx.c.m30), ...S.and, ...S.or, ...get(ctx.c.m32), ...S.i8Sub, ...set(qv));
        const scale = [...get(ctx.wp), ...i32Load8S(192 + 8 * n + h + 2 * k), ...S.i32Splat];
        for (let r = 0; r < ctx.R; r++) {
          code.push(...get(ctx.xp[r]!), ...S.load(32 * (4 * n + k) + 16 * h), ...set(xv));
          const part = [...dot16(qv, xv), ...S.i32AddPairs16, ...scale, ...S.i32Mul];
          if (h === 0) code.push(...part, ...set(isum[r]!));
          else code.push(...get(isum[r]!), ...part, ...S.i32Add, ...set(isum[r]!));
        }
      }
      for (let r = 0; r < ctx.R; r++) {
        addScaled(ctx, r, get(isum[r]!), [...get(d), ...get(ctx.sp[r]!), ...f32Load(8 * (4 * n + k)), F.mul]);
      }
    }
  }
}

/** F16 / BF16: 16 halves widened to four float32 vectors, multiplied with float32 activations. */
function halfBody(ctx: Ctx, bf16: boolean): void {
  const { L, code } = ctx;
  const wv = [L.v128(), L.v128(), L.v128(), L.v128()];
  const v = L.v128();
  for (let part = 0; part < 2; part++) {
    code.push(...get(ctx.wp), ...S.load(16 * part), ...set(v));
    for (let hi = 0; hi < 2; hi++) {
      const out = wv[2 * part + hi]!;
      if (bf16) {
        code.push(...get(v), ...(hi ? S.i32ExtHighU : S.i32ExtLowU), ...i32c(16), ...S.i32Shl, ...set(out));
      } else {
        code.push(...get(v), ...(hi ? S.i32ExtHighS : S.i32ExtLowS), ...i32c(13), ...S.i32Shl);
        code.push(...get(ctx.c.f16Mask), ...S.and, ...get(ctx.c.pow112), ...S.f32Mul, ...set(out));
      }
    }
  }
  for (let r = 0; r < ctx.R; r++) {
    for (let q = 0; q < 4; q++) {
      const acc = q % 2 === 0 ? ctx.acc[r]! : ctx.acc2[r]!;
      code.push(...get(acc), ...get(wv[q]!), ...get(ctx.xp[r]!), ...S.load(16 * q), ...S.f32Mul, ...S.f32Add);
      code.push(...set(acc));
    }
  }
}

/** The whole function (locals + code) of `type`'s kernel for R rows. */
function kernel(type: BlockType, R: number): number[] {
  const L = new Locals();
  const unit = BLOCK_UNITS[type];
  const code: number[] = [];
  const row = (param: number, stride: number) =>
    Array.from({ length: R }, (_, r) => {
      if (r === 0) return param;
      const l = L.i32();
      code.push(...get(param), ...get(stride), ...i32c(r), 0x6c, 0x6a, ...set(l)); // param + r·stride
      return l;
    });
  const xRow = row(P.x, P.xStride);
  const sRow = row(P.xs, P.xsStride);
  const oRow = row(P.o, P.oStride);
  const [wp, wEnd, xo, so, ro] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const xp = Array.from({ length: R }, () => L.i32());
  const sp = Array.from({ length: R }, () => L.i32());
  const acc = Array.from({ length: R }, () => L.v128());
  const acc2 = unit.int8 ? acc : Array.from({ length: R }, () => L.v128());
  const minAcc = Array.from({ length: R }, () => L.f32());
  const splat8 = (v: number) => {
    const l = L.v128();
    code.push(...i32c(v), ...S.i8Splat, ...set(l));
    return l;
  };
  const c = { low4: splat8(15), eight: splat8(8), m30: splat8(0x30), m32: splat8(32), f16Mask: 0, pow112: 0 };
  c.f16Mask = L.v128();
  code.push(...i32c(F16_MASK), ...S.i32Splat, ...set(c.f16Mask));
  c.pow112 = L.v128();
  code.push(...f32c(2 ** 112), ...S.f32Splat, ...set(c.pow112));
  const ctx: Ctx = { R, L, code, wp, xp, sp, acc, acc2, minAcc, c };
  const zero = [...i32c(0), ...S.i32Splat];
  // block $exit { loop $rows { if n == 0 break; one weight row; n -= 1 } }
  code.push(op.block, 0x40, op.loop, 0x40, ...get(P.n), op.i32Eqz, op.brIf, 1);
  code.push(...get(P.w), ...set(wp), ...get(P.w), ...get(P.rowBytes), op.i32Add, ...set(wEnd));
  code.push(...i32c(0), ...set(xo), ...i32c(0), ...set(so));
  for (let r = 0; r < R; r++) {
    code.push(...zero, ...set(acc[r]!), ...f32c(0), ...set(minAcc[r]!));
    if (!unit.int8) code.push(...zero, ...set(acc2[r]!));
  }
  // block $empty { if wp >= wEnd break; loop $units { addresses; body; advance; if wp < wEnd continue } }
  code.push(op.block, 0x40, ...get(wp), ...get(wEnd), op.i32GeU, op.brIf, 0, op.loop, 0x40);
  for (let r = 0; r < R; r++) {
    code.push(...get(xRow[r]!), ...get(xo), op.i32Add, ...set(xp[r]!));
    if (unit.int8) code.push(...get(sRow[r]!), ...get(so), op.i32Add, ...set(sp[r]!));
  }
  if (type === 'Q8_0' || type === 'Q4_0') q32Body(ctx, type === 'Q4_0');
  else if (type === 'Q4_K') q4kBody(ctx);
  else if (type === 'Q6_K') q6kBody(ctx);
  else halfBody(ctx, type === 'BF16');
  const xBytes = unit.int8 ? unit.elements : 4 * unit.elements;
  code.push(...get(wp), ...i32c(unit.bytes), op.i32Add, ...tee(wp));
  code.push(...get(xo), ...i32c(xBytes), op.i32Add, ...set(xo));
  if (unit.int8) code.push(...get(so), ...i32c(8 * (unit.elements / 32)), op.i32Add, ...set(so));
  code.push(...get(wEnd), op.i32LtU, op.brIf, 0, op.end, op.end);
  // o_r[ro] = (lane0 + lane1) + (lane2 + lane3) of acc (+ acc2) − minAcc.
  for (let r = 0; r < R; r++) {
    const s = acc[r]!;
    if (!unit.int8) code.push(...get(s), ...get(acc2[r]!), ...S.f32Add, ...set(s));
    code.push(...get(oRow[r]!), ...get(ro), op.i32Add);
    code.push(...get(s), ...S.f32Lane(0), ...get(s), ...S.f32Lane(1), op.f32Add);
    code.push(...get(s), ...S.f32Lane(2), ...get(s), ...S.f32Lane(3), op.f32Add, op.f32Add);
    if (type === 'Q4_K') code.push(...get(minAcc[r]!), F.sub);
    code.push(...f32Store(0));
  }
  code.push(...get(ro), ...i32c(4), op.i32Add, ...set(ro));
  code.push(...get(P.w), ...get(P.wStride), op.i32Add, ...set(P.w));
  code.push(...get(P.n), ...i32c(1), I.sub, ...set(P.n), op.br, 0, op.end, op.end, op.end);
  return [...L.encode(), ...code];
}

const TYPES = Object.keys(BLOCK_UNITS) as BlockType[];
const exportName = (type: BlockType, rows: number) => `${type}_${rows}`;

/** The module's bytes: the shared memory imported as `env.mem` and one kernel per type and row count 1..MAX_ROWS. */
export function blockModuleBytes(): Uint8Array<ArrayBuffer> {
  const fns = TYPES.flatMap((type) => Array.from({ length: MAX_ROWS }, (_, i) => ({ type, rows: i + 1 })));
  const bodies = fns.map(({ type, rows }) => kernel(type, rows));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 10 }, () => [I32])), 0]])),
    // import env.mem: a shared memory of at least 1 page, at most 4 GiB (the tile module's).
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, 1, ...uleb(65536)]])),
    ...section(3, vec(fns.map(() => [0]))),
    ...section(7, vec(fns.map(({ type, rows }, i) => [...name(exportName(type, rows)), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

/** One kernel (see the module comment); all arguments are byte addresses or byte strides. */
export type BlockKernel = (
  x: number,
  xStride: number,
  xs: number,
  xsStride: number,
  w: number,
  wStride: number,
  rowBytes: number,
  n: number,
  o: number,
  oStride: number,
) => void;

/** The instantiated kernels over the shared memory of {@link wasmTile}. */
export interface WasmBlockKernels {
  readonly memory: WebAssembly.Memory;
  /** The kernel of `type` for `rows` (1..MAX_ROWS) activation rows. */
  kernel(type: BlockType, rows: number): BlockKernel;
}

let instance: WasmBlockKernels | null | undefined;

/**
 * The block kernels, instantiated on first use over the tile module's shared memory; null where WebAssembly SIMD
 * or a shared memory is unavailable (weights cannot then live in wasm memory, and copying them for every call would
 * cost more than the JS kernels), in which case callers use the JS kernels.
 */
export function wasmBlockKernels(): WasmBlockKernels | null {
  if (instance !== undefined) return instance;
  instance = null;
  const tile = wasmTile();
  if (!tile?.shared) return instance;
  try {
    const bytes = blockModuleBytes();
    if (!WebAssembly.validate(bytes)) return instance;
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: tile.memory } }).exports;
    instance = {
      memory: tile.memory,
      kernel: (type, rows) => e[exportName(type, rows)] as BlockKernel,
    };
  } catch {
    // An engine that validates SIMD but refuses the import: stay on the JS kernels.
  }
  return instance;
}
