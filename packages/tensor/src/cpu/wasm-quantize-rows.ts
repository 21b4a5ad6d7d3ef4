/**
 * The WebAssembly SIMD form of the block kernels' activation quantization (llama.cpp's Q8_0 of a row): per 32-element
 * block of float32 x, dx = max|x| / 127 (float32), q = round(x / dx) as int8, and the block's Σx beside dx.
 *
 * Why: done in scalar JS (a float64 multiply, Math.round and an int8 store per element) it cost ~8 % of a q4_0
 * decode step; here a block is 8 vector loads, a max and a sum tree, and 8 multiply-round-narrow steps.
 * Rounding is to nearest, ties to even (`f32x4.nearest`), so |q − x/dx| ≤ 1/2 as the kernels' bound assumes; Σx is
 * summed in float32 lanes (a tree of 32 terms).
 *
 * Three layouts of a block's q ({@link QuantizedLayout}): int8 in order (32 bytes, the Q4_K / Q6_K kernels); as 32
 * i16, even and odd elements apart (EVEN_ODD_16, 64 bytes, the plain Q8_0 / Q4_0 kernels, see q32Body in
 * wasm-block-bodies.ts); int8 in order followed by the i16x8 correction −8·(pair sums) of Q4_0's relaxed-SIMD
 * kernel (48 bytes, q4RelaxedBody); and for Q6_K's relaxed-SIMD kernel (q6kBody) each 16 int8 in PAIR_WITH_8 order,
 * then per 16 the i16x8 correction −32·(q[i] + q[i + 8]) (64 bytes): what depends on the activations alone is done
 * once per row here instead of once per weight row in the kernel.
 *
 * It has the block kernels' 10-parameter signature so that it shares their module's one function type: (src,
 * blocks, q, pairs, ...unused) with src the float32 activations, q the int8 output and pairs the [dx, Σx] output.
 *
 * @module
 */
import { f32c, f32Store, i32c, Locals, PAIR_WITH_8, S, tee } from './wasm-block-bodies.js';
import { simd } from './wasm-encoding.js';
import { wasmAsm } from './wasm-tile.js';

const { op, get, set, uleb } = wasmAsm;
const V = {
  store: (offset: number) => [...simd(0x0b), 0, ...uleb(offset)],
  abs: simd(0xe0),
  max: simd(0xe9),
  nearest: simd(0x6a),
  truncSat: simd(0xf8),
  narrow16: simd(0x85),
  narrow8: simd(0x65),
};
const P = { src: 0, blocks: 1, q: 2, pairs: 3 } as const;

/** How a block's quantized activations are stored (see the module comment), with the bytes of one block. */
export type QuantizedLayout = 'int8' | 'int16-even-odd' | 'int8-with-sums' | 'int8-paired-with-sums';

/** Bytes of one quantized block of 32 activations in each layout. */
export const QUANTIZED_BLOCK_BYTES: Record<QuantizedLayout, number> = {
  int8: 32,
  'int16-even-odd': 64,
  'int8-with-sums': 48,
  'int8-paired-with-sums': 64,
};

/** Lanes of `i8x16.shuffle` moving the upper `bytes` of a vector onto its lower ones. */
const fold = (bytes: number) => Array.from({ length: 16 }, (_, i) => (i + bytes) % 16);

/**
 * The wide layout of one block's 32 int8 values q as i16 vectors: element indices of the lanes of each (x0, x2, …,
 * x14 | x1, …, x15 | x16, …, x30 | x17, …, x31).
 */
export const EVEN_ODD_16 = [0, 1, 16, 17].map((first) => Array.from({ length: 8 }, (_, i) => first + 2 * i));

/** i8x16.shuffle lanes picking the even (parity 0) or odd i16 lanes of a ++ b. */
const pickI16 = (parity: number) => Array.from({ length: 16 }, (_, i) => 4 * (i >> 1) + 2 * parity + (i % 2));

/**
 * The whole function (locals + code): quantizes `blocks` blocks of 32 floats into `layout` (see the module comment).
 */
export function quantizeRowsKernel(layout: QuantizedLayout): number[] {
  const L = new Locals();
  const code: number[] = [];
  const v = Array.from({ length: 8 }, () => L.v128());
  const [m, s, ids] = [L.v128(), L.v128(), L.v128()];
  const d = L.f32();
  const narrowed = [L.v128(), L.v128()];
  const q8 = [L.v128(), L.v128()];
  // Lanes of vector t summed (or maxed) into lane 0: t ⊕ t shifted by 8 bytes, then by 4.
  const horizontal = (t: number, combine: number[]) => [
    ...[...get(t), ...get(t), ...get(t), ...S.shuffle(fold(8)), ...combine, ...tee(t)],
    ...[...get(t), ...get(t), ...S.shuffle(fold(4)), ...combine, ...S.f32Lane(0)],
  ];
  code.push(op.block, 0x40, op.loop, 0x40, ...get(P.blocks), op.i32Eqz, op.brIf, 1);
  for (let i = 0; i < 8; i++) code.push(...get(P.src), ...S.load(16 * i), ...set(v[i]!));
  code.push(...get(v[0]!), ...V.abs, ...set(m), ...get(v[0]!), ...set(s));
  for (let i = 1; i < 8; i++) {
    code.push(...get(m), ...get(v[i]!), ...V.abs, ...V.max, ...set(m));
    code.push(...get(s), ...get(v[i]!), ...S.f32Add, ...set(s));
  }
  // dx = max|x| / 127; 1/dx, or 0 for an all-zero block.
  code.push(...horizontal(m, V.max), ...f32c(127), 0x95, ...set(d));
  code.push(...get(P.pairs), ...get(d), ...f32Store(0));
  code.push(...get(P.pairs), ...horizontal(s, S.f32Add), ...f32Store(4));
  code.push(...f32c(1), ...get(d), 0x95, ...f32c(0), ...get(d), ...f32c(0), 0x5c, 0x1b, ...S.f32Splat, ...set(ids));
  for (let half = 0; half < 2; half++) {
    for (let pair = 0; pair < 2; pair++) {
      for (const i of [4 * half + 2 * pair, 4 * half + 2 * pair + 1]) {
        code.push(...get(v[i]!), ...get(ids), ...S.f32Mul, ...V.nearest, ...V.truncSat);
      }
      code.push(...V.narrow16, ...set(narrowed[pair]!));
    }
    if (layout === 'int16-even-odd') {
      for (let parity = 0; parity < 2; parity++) {
        code.push(...get(P.q), ...get(narrowed[0]!), ...get(narrowed[1]!), ...S.shuffle(pickI16(parity)));
        code.push(...V.store(32 * half + 16 * parity));
      }
    } else {
      code.push(...get(P.q), ...get(narrowed[0]!), ...get(narrowed[1]!), ...V.narrow8, ...tee(q8[half]!));
      if (layout === 'int8-paired-with-sums') {
        // The 16 in PAIR_WITH_8 order, and lane i of the correction −32·(q[i] + q[i + 8]), |lane| ≤ 8128.
        code.push(...get(q8[half]!), ...S.shuffle(PAIR_WITH_8), ...tee(q8[half]!), ...V.store(16 * half));
        code.push(...get(P.q), ...get(q8[half]!), ...S.i16AddPairs8, ...i32c(-32), ...S.i16Splat, ...S.i16Mul);
        code.push(...V.store(32 + 16 * half));
      } else {
        code.push(...V.store(16 * half));
      }
    }
  }
  if (layout === 'int8-with-sums') {
    // Lane j: −8·(q[2j] + q[2j+1] + q[2j+16] + q[2j+17]), |lane| ≤ 4064.
    code.push(...get(P.q), ...get(q8[0]!), ...S.i16AddPairs8, ...get(q8[1]!), ...S.i16AddPairs8, ...S.i16Add);
    code.push(...i32c(-8), ...S.i16Splat, ...S.i16Mul, ...V.store(32));
  }
  code.push(...get(P.src), ...i32c(128), op.i32Add, ...set(P.src));
  code.push(...get(P.q), ...i32c(QUANTIZED_BLOCK_BYTES[layout]), op.i32Add, ...set(P.q));
  code.push(...get(P.pairs), ...i32c(8), op.i32Add, ...set(P.pairs));
  code.push(...get(P.blocks), ...i32c(1), 0x6b, ...set(P.blocks), op.br, 0, op.end, op.end, op.end);
  return [...L.encode(), ...code];
}
