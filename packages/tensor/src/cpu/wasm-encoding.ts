/**
 * LEB128 integer encodings of the WebAssembly binary format, and the opcodes and section helpers shared by the
 * modules assembled from opcodes here (wasm-tile.ts, wasm-float32-kernels.ts, half-dot-kernel.ts, and through
 * `wasmAsm` the block and attention kernels).
 *
 * @module
 */

/** Unsigned LEB128 (indices, sizes, memarg offsets). */
export function uleb(n: number): number[] {
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
export function sleb(n: number): number[] {
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

/** Value type i32. */
export const I32 = 0x7f;
/** Value type v128. */
export const V128 = 0x7b;
/** Value type f32. */
export const F32 = 0x7d;
/** Value type f64. */
export const F64 = 0x7c;
/** Core opcodes used by the kernels. */
export const op = {
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
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  f32Add: 0x92,
  simd: 0xfd,
} as const;
// SIMD opcodes after the 0xfd prefix (LEB128-encoded): v128.load 0, v128.store 11, f32x4.splat 19,
// f32x4.extract_lane 31, f32x4.add 228, f32x4.mul 230. Memargs: align 2^2 (our floats are 4-byte aligned), offset.
/** v128.load with a memarg offset. */
export const v128Load = (offset = 0) => [op.simd, 0x00, 2, ...uleb(offset)];
/** v128.store with a memarg offset. */
export const v128Store = (offset = 0) => [op.simd, 0x0b, 2, ...uleb(offset)];
/** f32x4.splat. */
export const f32x4Splat = [op.simd, 0x13];
/** f32x4.add. */
export const f32x4Add = [op.simd, 0xe4, 0x01];
/** f32x4.mul. */
export const f32x4Mul = [op.simd, 0xe6, 0x01];
/**
 * f32x4.relaxed_madd (relaxed SIMD, 0x105): a·b + c, one `vfmadd` on x86 with FMA3 (fused: one rounding), or a
 * multiply and an add elsewhere (engines may pick either, so its outputs are compared within a tolerance).
 */
export const f32x4RelaxedMadd = [op.simd, 0x85, 0x02];
/** f32x4.extract_lane. */
export const extractLane = (lane: number) => [op.simd, 0x1f, lane];
/** Any SIMD instruction by its opcode after the 0xfd prefix (LEB128-encoded), immediates left to the caller. */
export const simd = (code: number) => [op.simd, ...uleb(code)];
/** v128.load32_splat with a memarg offset: one float (or i32) read into all four lanes. */
export const v128Load32Splat = (offset = 0) => [op.simd, 0x09, 2, ...uleb(offset)];

/** A name: its length, then its bytes (ASCII). */
export const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
/** A vector: its length, then its items. */
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
/** A section: id, byte length, body. */
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
/** local.get. */
export const get = (i: number) => [op.localGet, ...uleb(i)];
/** local.set. */
export const set = (i: number) => [op.localSet, ...uleb(i)];
/** local.tee. */
export const tee = (i: number) => [op.localTee, ...uleb(i)];
