/**
 * A small WebAssembly module of row kernels over the tile module's memory (wasm-tile.ts): the bytes of a module that
 * imports that memory as `env.mem` and exports the given functions, and its instance. For modules whose kernels the
 * JS side calls between products (wasm-pack-tiles.ts, wasm-norms.ts), so they read and write the same memory the
 * dot kernels do.
 *
 * @module
 */

import { name, section, uleb, vec } from './wasm-encoding.js';
import { wasmTile } from './wasm-tile.js';

/** Value type f32. */
export const F32 = 0x7d;

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
 * The exports of `kernels` instantiated on the tile module's memory; null where WebAssembly SIMD or the tile module is
 * unavailable, or the engine refuses the module (callers then run their JS loops).
 */
export function instantiateOnTileMemory(kernels: readonly ModuleKernel[]): WebAssembly.Exports | null {
  const tile = wasmTile();
  if (!tile) return null;
  try {
    const bytes = kernelModuleBytes(tile.shared, kernels);
    if (!WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: tile.memory } }).exports;
  } catch {
    // An engine that validates SIMD but refuses the import: JS loops.
    return null;
  }
}
