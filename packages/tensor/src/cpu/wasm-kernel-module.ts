/**
 * A small WebAssembly module of row kernels over the tile module's memory (wasm-tile.ts): the bytes of a module that
 * imports that memory as `env.mem` and exports the given functions, and its instance. For modules whose kernels the
 * JS side calls between products (wasm-pack-tiles.ts, wasm-norms.ts), so they read and write the same memory the
 * dot kernels do.
 *
 * @module
 */

import { get, name, op, section, set, simd, uleb, vec } from './wasm-encoding.js';
import { wasmTile } from './wasm-tile.js';

/**
 * SIMD opcodes for float64 lanes over float32 data: kernels that keep the JS loops' float64 arithmetic (so their
 * floats equal the loops') load 4 floats, promote each half to two float64 lanes, and demote the results back.
 */
export const f64Lanes = {
  f32Add: simd(0xe4),
  f64Add: simd(0xf0),
  f64Sub: simd(0xf1),
  f64Mul: simd(0xf2),
  f64Splat: simd(0x14),
  /** f64x2.promote_low_f32x4: lanes 0, 1 of a float32 vector as float64. */
  promoteLow: simd(0x5f),
  /** f32x4.demote_f64x2_zero: two float64 lanes as float32 lanes 0, 1 (lanes 2, 3 zero). */
  demoteZero: simd(0x5e),
  lane: (i: number) => [...simd(0x21), i],
  zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
};
const bytes = (from: number) => Array.from({ length: 8 }, (_, i) => from + i);
/** i8x16.shuffle: lanes 2, 3 of a float32 vector (given twice) moved to lanes 0, 1. */
export const HIGH_HALF = [...simd(0x0d), ...bytes(8), ...bytes(8)];
/** i8x16.shuffle: lanes 0, 1 of the first vector, then lanes 0, 1 of the second. */
export const LOW_HALVES = [...simd(0x0d), ...bytes(0), ...bytes(16)];
/** i32 local `i` += local `by`. */
export const addTo = (i: number, by: number) => [...get(i), ...get(by), op.i32Add, ...set(i)];
/** `for (p = 0; p < d; p += 16) { body }` over the byte offset local p of a row of d bytes (local d). */
export const overBytes = (p: number, d: number, body: number[]) => [
  ...[op.i32Const, 0, ...set(p), op.block, 0x40, op.loop, 0x40, ...get(p), ...get(d), op.i32GeU, op.brIf, 1],
  ...body,
  ...[...get(p), op.i32Const, 16, op.i32Add, ...set(p), op.br, 0, op.end, op.end],
];

/** One exported function of {@link kernelModuleBytes}: its name, parameter types, and body (locals, then code). */
export interface ModuleKernel {
  readonly name: string;
  /** Parameter value types (I32, F32, …); the function returns nothing. */
  readonly params: readonly number[];
  /** The function body: its local declarations (`vec` of [count, type]) then its code, ending in `end`. */
  readonly body: readonly number[];
}

/** The module's bytes: the memory imported as `env.mem` (declared shared or not, as the tile module's is), then `kernels`. */
export function kernelModuleBytes(shared: boolean, kernels: readonly ModuleKernel[]): Uint8Array<ArrayBuffer> {
  const memoryType = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // One function type per kernel (type i for function i).
    ...section(1, vec(kernels.map((k) => [0x60, ...vec(k.params.map((t) => [t])), 0]))),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, ...memoryType]])),
    ...section(3, vec(kernels.map((_, i) => uleb(i)))),
    ...section(7, vec(kernels.map((k, i) => [...name(k.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(kernels.map((k) => [...uleb(k.body.length), ...k.body]))),
  ]);
}

/**
 * The exports of the module that `bytes(shared)` builds (importing the tile module's memory, declared shared or not as
 * that memory is, as `env.mem`) instantiated on that memory; null where WebAssembly SIMD or the tile module is
 * unavailable, or the engine refuses the module (callers then run their JS loops).
 */
export function instantiateModuleOnTileMemory(
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
): WebAssembly.Exports | null {
  const tile = wasmTile();
  if (!tile) return null;
  try {
    const module = bytes(tile.shared);
    if (!WebAssembly.validate(module)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(module), { env: { mem: tile.memory } }).exports;
  } catch {
    // An engine that validates SIMD but refuses the import: JS loops.
    return null;
  }
}

/** The exports of `kernels` ({@link kernelModuleBytes}) instantiated on the tile module's memory, as above. */
export function instantiateOnTileMemory(kernels: readonly ModuleKernel[]): WebAssembly.Exports | null {
  return instantiateModuleOnTileMemory((shared) => kernelModuleBytes(shared, kernels));
}
