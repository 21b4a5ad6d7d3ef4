/**
 * Whether the CPU block kernels and float32 kernels may use WebAssembly relaxed SIMD, and the switch tests use to run
 * both paths (the float32 kernels' fused multiply-adds: wasm-tile.ts).
 *
 * Why: `i16x8.relaxed_dot_i8x16_i7x16_s` is one `pmaddubsw` on x86: 16 int8 × 7-bit products summed in pairs, where
 * plain SIMD needs two shifts per i16 lane and a `pmaddwd` (wasm-block-bodies.ts, q4RelaxedBody). Its result is
 * implementation-defined only when the 7-bit operand has its top bit set; the kernels pass Q4_0 nibbles in [0, 15],
 * so every engine computes the same exact integers and the relaxed path's outputs equal the plain path's bit for bit.
 *
 * Chrome ≥ 114 and Node ≥ 22 validate relaxed SIMD by default; Node 20 (V8 11.3) only behind
 * `--experimental-wasm-relaxed-simd`, which V8 accepts at run time before a module is compiled. So: validate a tiny
 * module; on Node only, when that fails, set the flag once (through `process.getBuiltinModule`, no import that a
 * browser bundle would see) and validate again. `ANDES_WASM_RELAXED_SIMD=off` keeps the plain SIMD kernels.
 *
 * @module
 */

/** A module with one function `() → v128` computing `i16x8.relaxed_dot_i8x16_i7x16_s` of two zero vectors. */
const PROBE = (() => {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0, ...zero, ...zero, 0xfd, 0x92, 0x02, 0x0b]; // no locals; relaxed dot (0x112); end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type () → v128
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body],
  ]);
})();

/** The parts of Node's `process` that the CPU backend reads, where it exists. */
export interface NodeProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}
/** Node's `process` without importing it (a browser bundle sees no import); undefined in browsers. */
export const nodeProcess = () => (globalThis as { process?: NodeProcess }).process;

let available: boolean | undefined;

/** Whether this engine validates relaxed SIMD, after turning on Node 20's flag where needed (checked once). */
export function relaxedSimdSupported(): boolean {
  if (available !== undefined) return available;
  available = WebAssembly.validate(PROBE);
  if (!available) {
    const v8 = nodeProcess()?.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (f: string) => void } | undefined;
    try {
      v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
      available = WebAssembly.validate(PROBE);
    } catch {
      available = false;
    }
  }
  return available;
}

let chosen: boolean | undefined;
let fromEnv: boolean | undefined;

/**
 * Whether the block kernels and the float32 kernels (fused multiply-adds, wasm-tile.ts) use relaxed SIMD now:
 * {@link setWasmRelaxedSimd}'s choice, else on unless `ANDES_WASM_RELAXED_SIMD=off` (read once); never where the
 * engine lacks it.
 */
export function wasmRelaxedSimd(): boolean {
  fromEnv ??= nodeProcess()?.env?.ANDES_WASM_RELAXED_SIMD?.toLowerCase() !== 'off';
  return (chosen ?? fromEnv) && relaxedSimdSupported();
}

/**
 * Chooses relaxed SIMD (true), the plain SIMD kernels (false) or the default (undefined: the environment) for the
 * block and float32 kernels from the next call on; tests run both paths. Returns the previous choice.
 */
export function setWasmRelaxedSimd(use: boolean | undefined): boolean | undefined {
  const previous = chosen;
  chosen = use;
  return previous;
}
