/**
 * WebAssembly SIMD kernels of x · Wᵀ for weights in ggml block formats (Q8_0, Q4_0, Q4_K, Q6_K) and half floats
 * (F16, BF16), assembled from opcodes like the float32 tiles (wasm-tile.ts, whose encoding helpers they share) and
 * reading the weight's bytes in place in the same shared wasm memory (wasm-heap.ts).
 *
 * Why integer dots: scalar JS decodes and multiplies one weight at a time. As llama.cpp does, the block kernels take
 * the activation row quantized to int8 per 32-element block (scale dx, |q| ≤ 127, done once per call by the
 * driver, block-matmul-wasm.ts) and multiply integer weights × integer activations, one float multiply per block by
 * dw·dx. Q8_0 and Q4_0 take the activations widened to i16 (even and odd elements apart) and sum pairs of products
 * in i32 lanes with `i32x4.dot_i16x8_s` (q32Body); where the engine has relaxed SIMD (wasm-relaxed-simd.ts), Q4_0
 * instead takes them as int8 with per-lane sums and multiplies the nibbles with `pmaddubsw` (q4RelaxedBody, same
 * outputs bit for bit). Q4_K and Q6_K multiply int8 × int8 16 at a time
 * (`i16x8.extmul_*_i8x16_s`, pairs summed in i16 lanes, then `i32x4.extadd_pairwise_i16x8_s`); their i16 sums
 * cannot overflow: Q4_K sums 4 products ≤ 15·127, Q6_K 2 products ≤ 32·127. On relaxed SIMD their unsigned quants
 * (Q4_K's nibbles, Q6_K's q before − 32) are the 7-bit operand of `pmaddubsw` and the sums are arranged into the
 * plain kernels' i32 lanes, so the outputs are the same bit for bit (q4kBody, q6kBody). Q4_K's 6-bit scales are
 * decoded in SIMD once per super-block and multiplied by each row's dx four at a time. Half floats widen to float32
 * in SIMD (`widenHalves`: bf16 becomes the top 16 bits; f16 the value times 2^-112, exact for normals, subnormals and zeros,
 * the 2^112 moved onto the activations by the driver; ±inf/NaN are not expected in weights and come out as large
 * finite values) against float32 activations. Block scales (f16) are read from an f16 → float32 table in wasm
 * memory (F16_TABLE).
 *
 * Every kernel has the signature `(x, xStride, xs, xsStride, w, wStride, rowBytes, n, o, oStride)` (byte
 * addresses and strides): for R rows of activations at x + r·xStride (int8, i16 or float32, see BlockUnit) with their
 * per-32-block pairs [dx, Σx] (float32) at xs + r·xsStride, and n weight rows at w + i·wStride of which the first
 * rowBytes (whole units, see {@link BLOCK_UNITS}) are dotted, it stores o[r·oStride + 4i] = row r · weight row i.
 * A weight unit is read and decoded once for all R rows (batched decode, prefill); the int8 dots stay per row, so
 * four rows measured 3–4× one row (BENCHMARKS.md), against 4× for separate calls plus four reads of the weight.
 *
 * @module
 */
import type { BlockType } from '../backend/backend.js';
import { float16BitsToFloat32 } from '../formats/half-precision.js';
import {
  type Ctx,
  F,
  F16_HIGH_MASK,
  F16_TABLE,
  f32c,
  f32Store,
  halfBody,
  I,
  i32c,
  Locals,
  PAIR_WITH_8,
  q4kBody,
  q4RelaxedBody,
  q6kBody,
  q32Body,
  S,
  tee,
  v128Const,
} from './wasm-block-bodies.js';
import { ensureMemory, F16_TABLE_BYTES } from './wasm-heap.js';
import { QUANTIZED_BLOCK_BYTES, type QuantizedLayout, quantizeRowsKernel } from './wasm-quantize-rows.js';
import { wasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { wasmAsm, wasmTile } from './wasm-tile.js';

const { I32, op, uleb, name, vec, section, get, set } = wasmAsm;

/** Geometry of one unit a kernel loop step consumes: weight bytes, elements, and activation bytes. */
export interface BlockUnit {
  /** Bytes of weight per unit (one ggml block, or 16 halves). */
  readonly bytes: number;
  /** Elements per unit. */
  readonly elements: number;
  /** How the activations are stored: float32, or quantized per 32-block in a {@link QuantizedLayout}. */
  readonly activations: 'float32' | QuantizedLayout;
  /**
   * Weight streams of the one-row (decode) kernel (see kernel()); rows past the last multiple of it go through the
   * one-stream kernel. Measured in stories-110m decode, same process, interleaved (BENCHMARKS.md): two streams
   * 1.09× for F16 and Q8_0; for Q4_0 0.95× on the plain kernel (compute-bound) and 1.0–1.12× on the relaxed one
   * (1.3× on a 56 MB weight from DRAM); on relaxed SIMD Q4_K 1.25× and Q6_K 1.4× on a 32000 × 2048 weight from
   * memory (4 streams: the same), a stories-110m Q4_K_M decode step 1.2–1.25×; 1 where unmeasured or slower.
   */
  readonly decodeStreams: number;
}

/** Whether a unit's activations are int8 with per-32 scales (else float32). */
export const isInt8 = (unit: BlockUnit) => unit.activations !== 'float32';

/** Bytes of activations per unit, per row. */
export const activationBytes = (unit: BlockUnit) =>
  unit.activations === 'float32' ? 4 * unit.elements : (QUANTIZED_BLOCK_BYTES[unit.activations] * unit.elements) / 32;

/** The unit of each type; half floats go 16 at a time (a tail of fewer is added by the driver). */
export const BLOCK_UNITS: Record<BlockType, BlockUnit> = {
  Q8_0: { bytes: 34, elements: 32, activations: 'int16-even-odd', decodeStreams: 2 },
  Q4_0: { bytes: 18, elements: 32, activations: 'int16-even-odd', decodeStreams: 1 },
  Q4_K: { bytes: 144, elements: 256, activations: 'int8', decodeStreams: 1 },
  Q6_K: { bytes: 210, elements: 256, activations: 'int8', decodeStreams: 1 },
  F16: { bytes: 32, elements: 16, activations: 'float32', decodeStreams: 2 },
  BF16: { bytes: 32, elements: 16, activations: 'float32', decodeStreams: 1 },
};

/**
 * The units of the kernels on relaxed SIMD (wasm-relaxed-simd.ts): Q4_0 takes int8 activations with pair sums, Q6_K
 * int8 activations paired for its dots with their −32 corrections (wasm-quantize-rows.ts); Q4_0, Q4_K and Q6_K
 * decode over two weight streams.
 */
export const RELAXED_BLOCK_UNITS: Record<BlockType, BlockUnit> = {
  ...BLOCK_UNITS,
  Q4_0: { ...BLOCK_UNITS.Q4_0, activations: 'int8-with-sums', decodeStreams: 2 },
  Q4_K: { ...BLOCK_UNITS.Q4_K, decodeStreams: 2 },
  Q6_K: { ...BLOCK_UNITS.Q6_K, activations: 'int8-paired-with-sums', decodeStreams: 2 },
};

/** The units of the kernels with or without relaxed SIMD. */
export const blockUnits = (relaxed: boolean) => (relaxed ? RELAXED_BLOCK_UNITS : BLOCK_UNITS);

/** Rows of activations one kernel call takes at most; kernels exist for 1..MAX_ROWS rows. */
export const MAX_ROWS = 4;

/** Parameter indices of every kernel. */
const P = { x: 0, xStride: 1, xs: 2, xsStride: 3, w: 4, wStride: 5, rowBytes: 6, n: 7, o: 8, oStride: 9 } as const;

/**
 * The whole function (locals + code) of `type`'s kernel for R activation rows and C weight streams. With C > 1
 * (one activation row, decode), the n weight rows (a multiple of C) split into C spans of n/C rows, and one pass
 * dots the i-th row of every span: C streams far apart in memory. Decode reads every weight from DRAM once per
 * token, and two far streams measured 1.2–1.3× one on a 32000-row F16 / Q8_0 product from DRAM (BENCHMARKS.md);
 * two adjacent rows per pass (one stream) measured 0.6×, and weights in cache lose ~10 % either way.
 */
function kernel(type: BlockType, R: number, C: number, relaxed: boolean): number[] {
  const L = new Locals();
  const unit = blockUnits(relaxed)[type];
  const int8 = isInt8(unit);
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
  const [wEnd, xo, so, ro, wFar, oFar] = [L.i32(), L.i32(), L.i32(), L.i32(), L.i32(), L.i32()];
  const wp = Array.from({ length: C }, () => L.i32());
  const xp = Array.from({ length: R }, () => L.i32());
  const sp = Array.from({ length: R }, () => L.i32());
  const perRow = () => Array.from({ length: R }, () => L.v128());
  const acc = Array.from({ length: C }, perRow);
  // F16 sums into one accumulator per row and stream: its decode kernel's two streams are two add chains, and a
  // second pair of accumulators spilled to the stack in V8's code (0.9× the one-stream speed). Every F16 kernel sums
  // in that one order, so a row's result does not depend on the rows or streams beside it. BF16 (one stream) keeps
  // two chains per row.
  const acc2 = int8 || type === 'F16' ? acc : Array.from({ length: C }, perRow);
  const minAcc = Array.from({ length: C }, () => Array.from({ length: R }, () => L.f32()));
  const splat = (v: number, opcode: number[]) => {
    const l = L.v128();
    code.push(...i32c(v), ...opcode, ...set(l));
    return l;
  };
  const c = {
    low4: splat(15, S.i8Splat),
    m30: splat(0x30, S.i8Splat),
    m32: splat(32, S.i8Splat),
    f16HighMask: splat(F16_HIGH_MASK, S.i32Splat),
    x8888: splat(0x88888888, S.i32Splat),
    ones16: splat(0x00010001, S.i32Splat),
    zero: L.v128(), // locals start zeroed
    pairWith8: L.v128(),
  };
  if (type === 'Q6_K' && relaxed) code.push(...v128Const(PAIR_WITH_8), ...set(c.pairWith8)); // its only user
  const stream = (j: number): Ctx => ({
    R,
    L,
    code,
    wp: wp[j]!,
    xp,
    sp,
    acc: acc[j]!,
    acc2: acc2[j]!,
    minAcc: minAcc[j]!,
    c,
    // Why groups: V8's optimizing compiler schedules the loads of a long straight-line body (a K-quant super-block:
    // 16 Q6_K groups) early and keeps them on the stack: the 1-row Q6_K kernel spilled 109 vectors per super-block
    // (`--print-wasm-code`). A branch that is never taken, on a word of memory (the f16 table's 1.0, so V8 cannot
    // fold it away), before each group keeps the group's loads after it: 6 spills.
    group: (emit) => {
      code.push(op.block, 0x40, ...i32c(F16_TABLE + 4 * 0x3c00), 0x28, 2, 0, op.i32Eqz, op.brIf, 0);
      emit();
      code.push(op.end);
    },
  });
  if (C > 1) {
    // n ← n / C passes; stream j starts j·n/C weight rows (wFar bytes each) and outputs (oFar bytes each) further.
    code.push(...get(P.n), ...i32c(Math.log2(C)), I.shrU, ...set(P.n));
    code.push(...get(P.n), ...get(P.wStride), 0x6c, ...set(wFar), ...get(P.n), ...i32c(4), 0x6c, ...set(oFar));
  }
  const zero = [...i32c(0), ...S.i32Splat];
  // block $exit { loop $rows { if n == 0 break; one weight row per stream; n -= 1 } }
  code.push(op.block, 0x40, op.loop, 0x40, ...get(P.n), op.i32Eqz, op.brIf, 1);
  code.push(...get(P.w), ...set(wp[0]!), ...get(P.w), ...get(P.rowBytes), op.i32Add, ...set(wEnd));
  for (let j = 1; j < C; j++) code.push(...get(wp[j - 1]!), ...get(wFar), op.i32Add, ...set(wp[j]!));
  code.push(...i32c(0), ...set(xo), ...i32c(0), ...set(so));
  for (let j = 0; j < C; j++) {
    for (let r = 0; r < R; r++) {
      code.push(...zero, ...set(acc[j]![r]!), ...f32c(0), ...set(minAcc[j]![r]!));
      if (acc2 !== acc) code.push(...zero, ...set(acc2[j]![r]!));
    }
  }
  // block $empty { if wp >= wEnd break; loop $units { addresses; body per stream; advance; if wp < wEnd continue } }
  code.push(op.block, 0x40, ...get(wp[0]!), ...get(wEnd), op.i32GeU, op.brIf, 0, op.loop, 0x40);
  for (let r = 0; r < R; r++) {
    code.push(...get(xRow[r]!), ...get(xo), op.i32Add, ...set(xp[r]!));
    if (int8) code.push(...get(sRow[r]!), ...get(so), op.i32Add, ...set(sp[r]!));
  }
  for (let j = 0; j < C; j++) {
    if (type === 'Q4_0' && relaxed) q4RelaxedBody(stream(j));
    else if (type === 'Q8_0' || type === 'Q4_0') q32Body(stream(j), type === 'Q4_0');
    else if (type === 'Q4_K') q4kBody(stream(j), relaxed);
    else if (type === 'Q6_K') q6kBody(stream(j), relaxed);
    else halfBody(stream(j), type === 'BF16');
  }
  for (let j = C - 1; j > 0; j--) code.push(...get(wp[j]!), ...i32c(unit.bytes), op.i32Add, ...set(wp[j]!));
  code.push(...get(wp[0]!), ...i32c(unit.bytes), op.i32Add, ...tee(wp[0]!));
  code.push(...get(xo), ...i32c(activationBytes(unit)), op.i32Add, ...set(xo));
  if (int8) code.push(...get(so), ...i32c(8 * (unit.elements / 32)), op.i32Add, ...set(so));
  code.push(...get(wEnd), op.i32LtU, op.brIf, 0, op.end, op.end);
  // o_r[ro] (+ j·oFar) = (lane0 + lane1) + (lane2 + lane3) of acc (+ acc2) − minAcc, for stream j.
  for (let j = 0; j < C; j++) {
    for (let r = 0; r < R; r++) {
      const s = acc[j]![r]!;
      if (acc2 !== acc) code.push(...get(s), ...get(acc2[j]![r]!), ...S.f32Add, ...set(s));
      code.push(...get(oRow[r]!), ...get(ro), op.i32Add);
      if (j > 0) code.push(...get(oFar), ...i32c(j), 0x6c, op.i32Add);
      code.push(...get(s), ...S.f32Lane(0), ...get(s), ...S.f32Lane(1), op.f32Add);
      code.push(...get(s), ...S.f32Lane(2), ...get(s), ...S.f32Lane(3), op.f32Add, op.f32Add);
      if (type === 'Q4_K') code.push(...get(minAcc[j]![r]!), F.sub);
      code.push(...f32Store(0));
    }
  }
  code.push(...get(ro), ...i32c(4), op.i32Add, ...set(ro));
  code.push(...get(P.w), ...get(P.wStride), op.i32Add, ...set(P.w));
  code.push(...get(P.n), ...i32c(1), I.sub, ...set(P.n), op.br, 0, op.end, op.end, op.end);
  return [...L.encode(), ...code];
}

/** The types the module has kernels for, in the order of its exports. */
export const BLOCK_TYPES = Object.keys(BLOCK_UNITS) as BlockType[];
const exportName = (type: BlockType, rows: number, streams = 1) => `${type}_${rows}x${streams}`;

/** The export of the activation quantizer writing each layout (wasm-quantize-rows.ts). */
export const QUANTIZE_EXPORTS: Record<QuantizedLayout, string> = {
  int8: 'quantize_rows',
  'int16-even-odd': 'quantize_rows_wide',
  'int8-with-sums': 'quantize_rows_sums',
  'int8-paired-with-sums': 'quantize_rows_paired',
};

/**
 * The module's bytes: the shared memory imported as `env.mem`, one kernel per type and row count 1..MAX_ROWS, and
 * the activation quantizers (wasm-quantize-rows.ts). With `relaxed`, the Q4_0, Q4_K and Q6_K kernels use relaxed
 * SIMD (wasm-relaxed-simd.ts; the module then validates only where the engine has it).
 */
export function blockModuleBytes(relaxed = false): Uint8Array<ArrayBuffer> {
  const fns = BLOCK_TYPES.flatMap((type) => {
    const streams = blockUnits(relaxed)[type].decodeStreams;
    return [
      ...Array.from({ length: MAX_ROWS }, (_, i) => ({
        name: exportName(type, i + 1),
        body: kernel(type, i + 1, 1, relaxed),
      })),
      ...(streams > 1 ? [{ name: exportName(type, 1, streams), body: kernel(type, 1, streams, relaxed) }] : []),
    ];
  });
  for (const [layout, exported] of Object.entries(QUANTIZE_EXPORTS)) {
    fns.push({ name: exported, body: quantizeRowsKernel(layout as QuantizedLayout) });
  }
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 10 }, () => [I32])), 0]])),
    // import env.mem: a shared memory of at least 1 page, at most 4 GiB (the tile module's).
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, 1, ...uleb(65536)]])),
    ...section(3, vec(fns.map(() => [0]))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map(({ body }) => [...uleb(body.length), ...body]))),
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
  /** The compiled module (helper threads instantiate it on the same memory: cpu-threads.ts). */
  readonly module: WebAssembly.Module;
  /** Its instance's exports on {@link memory} (the kernels by export name: block-rows.ts). */
  readonly exports: WebAssembly.Exports;
  /** Whether these kernels use relaxed SIMD (see {@link blockModuleBytes}). */
  readonly relaxed: boolean;
  /** The unit of `type` in these kernels: its activations' layout differs with relaxed SIMD. */
  unit(type: BlockType): BlockUnit;
  /**
   * The kernel of `type` for `rows` (1..MAX_ROWS) activation rows over `streams` weight streams (1, or
   * the unit's decodeStreams for one activation row; n must then be a multiple of it).
   */
  kernel(type: BlockType, rows: number, streams?: number): BlockKernel;
  /**
   * Quantizes `blocks` blocks of 32 float32 at byte address src into `layout` at q, with each block's [dx, Σx] as
   * float32 at pairs (wasm-quantize-rows.ts).
   */
  quantize(src: number, blocks: number, q: number, pairs: number, layout: QuantizedLayout): void;
}

/** Per relaxed flag (see wasmRelaxedSimd): the instance, or null where unavailable. */
const instances = new Map<boolean, WasmBlockKernels | null>();
let tableFilled = false;

/** The block modules built so far in this thread, plain and relaxed (what a new helper pool instantiates). */
export function builtBlockModules(): { plain?: WebAssembly.Module; relaxed?: WebAssembly.Module } {
  return { plain: instances.get(false)?.module, relaxed: instances.get(true)?.module };
}

/**
 * The block kernels, instantiated on first use over the tile module's shared memory, on relaxed SIMD when
 * {@link wasmRelaxedSimd} says so; null where WebAssembly SIMD or a shared memory is unavailable (weights cannot
 * then live in wasm memory, and copying them for every call would cost more than the JS kernels), in which case
 * callers use the JS kernels.
 */
export function wasmBlockKernels(): WasmBlockKernels | null {
  const relaxed = wasmRelaxedSimd();
  let instance = instances.get(relaxed);
  if (instance !== undefined) return instance;
  instance = null;
  instances.set(relaxed, instance);
  const tile = wasmTile();
  if (!tile?.shared) return instance;
  try {
    const bytes = blockModuleBytes(relaxed);
    if (!WebAssembly.validate(bytes)) return instance;
    if (!ensureMemory(tile.memory, F16_TABLE + F16_TABLE_BYTES)) return instance;
    if (!tableFilled) {
      const table = new Float32Array(tile.memory.buffer, F16_TABLE, F16_TABLE_BYTES / 4);
      for (let h = 0; h < table.length; h++) table[h] = float16BitsToFloat32(h);
      tableFilled = true;
    }
    const module = new WebAssembly.Module(bytes);
    const e = new WebAssembly.Instance(module, { env: { mem: tile.memory } }).exports;
    type Quantize = (src: number, blocks: number, q: number, pairs: number) => void;
    const units = blockUnits(relaxed);
    instance = {
      memory: tile.memory,
      module,
      exports: e,
      relaxed,
      unit: (type) => units[type],
      kernel: (type, rows, streams) => e[exportName(type, rows, streams)] as BlockKernel,
      quantize: (src, blocks, q, pairs, layout) => (e[QUANTIZE_EXPORTS[layout]] as Quantize)(src, blocks, q, pairs),
    };
    instances.set(relaxed, instance);
  } catch {
    // An engine that validates SIMD but refuses the import: stay on the JS kernels.
  }
  return instance;
}
