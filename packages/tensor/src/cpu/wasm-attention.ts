/**
 * The WebAssembly SIMD kernel of CPU paged attention (paged-attention.ts): its module (the body and parameter block
 * are in attention-kernel.ts) over the tile module's shared memory (wasm-tile.ts), where the KV pools live once moved
 * (wasm-heap.ts). Helper threads instantiate the same compiled module on that memory (cpu-threads.ts).
 *
 * @module
 */
import { ATTEND_KERNELS, ATTEND_STREAMS, type AttendElement, attendRowsBody } from './attention-kernel.js';
import { I32, name, section, uleb, vec } from './wasm-encoding.js';
import { ensureMemory } from './wasm-heap.js';
import { wasmTile } from './wasm-tile.js';

/** The kernels' export names, in function-index order: one per pool element type (see {@link ATTEND_KERNELS}). */
const KERNEL_NAMES = Object.keys(ATTEND_KERNELS) as (keyof typeof ATTEND_KERNELS)[];

/**
 * The module: the tile module's memory imported as `env.mem` (shared, 4 GiB maximum), then `attendRows` (float32
 * pools), `attendRowsF16` and `attendRowsBf16` (half pools).
 */
export function attentionModuleBytes(streams = ATTEND_STREAMS): Uint8Array<ArrayBuffer> {
  const bodies = KERNEL_NAMES.map((k) => attendRowsBody(streams, ATTEND_KERNELS[k]));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), 0]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, 1, ...uleb(65536)]])),
    ...section(3, vec(KERNEL_NAMES.map(() => [0]))),
    ...section(7, vec(KERNEL_NAMES.map((k, i) => [...name(k), 0x00, i]))),
    ...section(10, vec(bodies.map((body) => [...uleb(body.length), ...body]))),
  ]);
}

/**
 * Attends rows FIRST_ROW + [first, first + count) of the step whose parameter block (int32 fields {@link ATTEND}) is at byte
 * address `params`: each row's query heads against its sequence's keys [0, rowKeys) through the block table, written
 * normalised to its output row (see the module comment).
 */
export type AttendRows = (params: number, first: number, count: number) => void;

/** The instantiated kernel over the tile module's shared memory, and its compiled module (for helper threads). */
export interface WasmAttention {
  readonly memory: WebAssembly.Memory;
  /** The compiled module, which the CPU helper threads instantiate on the same memory (cpu-threads.ts). */
  readonly module: WebAssembly.Module;
  /** The kernel for pools of each element type, and its export name (what helper threads run). */
  readonly kernels: Readonly<
    Record<AttendElement, { readonly name: keyof typeof ATTEND_KERNELS; readonly run: AttendRows }>
  >;
}

let instance: WasmAttention | null | undefined;

/**
 * The attention kernel, instantiated on first use; null where WebAssembly SIMD or a shared memory is unavailable
 * (the pools cannot then live in wasm memory), in which case paged attention runs its JS loops.
 */
export function wasmAttention(): WasmAttention | null {
  if (instance !== undefined) return instance;
  instance = null;
  const tile = wasmTile();
  if (!tile?.shared) return instance;
  try {
    const bytes = attentionModuleBytes();
    if (!WebAssembly.validate(bytes) || !ensureMemory(tile.memory, 1)) return instance;
    const module = new WebAssembly.Module(bytes);
    const e = new WebAssembly.Instance(module, { env: { mem: tile.memory } }).exports;
    const kernels = Object.fromEntries(
      KERNEL_NAMES.map((k) => [ATTEND_KERNELS[k], { name: k, run: e[k] as AttendRows }]),
    ) as WasmAttention['kernels'];
    instance = { memory: tile.memory, module, kernels };
  } catch {
    // An engine that validates SIMD but refuses the import: stay on the JS loops.
  }
  return instance;
}
