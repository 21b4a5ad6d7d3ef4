/**
 * WebAssembly SIMD kernels of CPU paged attention (paged-attention.ts), over the tile module's shared memory
 * (wasm-tile.ts), where the KV pools live once moved (wasm-heap.ts). Why: the JS loops over keys ran at ~0.4 G
 * multiply-adds per CPU-second (one float64 add chain per dot), and attention for 16 decode rows was ~10 % of a
 * stories-15m step at 28 positions and ~30 % at 150. Float32 lanes, four partial sums per dot; the softmax stays in
 * float64 in JS between the two kernels.
 *
 * - `scores(q, rows, keys, dBytes, out, kOff, kvHeads, group, outStride)`: out_h[p] = q_h · K_p for every query
 *   head h and p < keys, K_p at kOff + rows[p] (rows: i32 byte offsets), heads of dBytes bytes (a multiple of 16),
 *   sums as (l0 + l1) + (l2 + l3) of lanes d mod 4.
 * - `values(w, rows, keys, dBytes, out, vOff, kvHeads, group, wStride)`: out_h = Σ_p w_h[p]·V_p for every head, V_p
 *   at vOff + rows[p], in p order per element.
 *
 * @module
 */
import { ensureMemory } from './wasm-heap.js';
import { wasmAsm, wasmTile } from './wasm-tile.js';

const { I32, V128, op, uleb, sleb, vec, section, name, get, set } = wasmAsm;
const simd = (code: number) => [op.simd, ...uleb(code)];
const load = (offset = 0) => [...simd(0x00), 2, ...uleb(offset)];
const store = (offset = 0) => [...simd(0x0b), 2, ...uleb(offset)];
const splat32 = [...simd(0x09), 2, 0];
const fAdd = simd(0xe4);
const fMul = simd(0xe6);
const lane = (l: number) => [...simd(0x1f), l];
const i32Load = [0x28, 2, 0];
const add = (i: number, bytes: number) => [...get(i), op.i32Const, ...sleb(bytes), op.i32Add, ...set(i)];

/** Pushes (l0 + l1) + (l2 + l3) of v128 local v (an f32). */
const laneSum = (v: number) => [
  ...get(v),
  ...lane(0),
  ...get(v),
  ...lane(1),
  op.f32Add,
  ...get(v),
  ...lane(2),
  ...get(v),
  ...lane(3),
  op.f32Add,
  op.f32Add,
];

// Both kernels walk the keys in position order and, per position, every head of its pool row (all kv heads are one
// contiguous row): the row streams in order from memory. Per head and key (the kernels before 2026-12-05), each
// head's pass read 3 of every 18 cache lines of a stories-15m row and missed to DRAM again for the next head: the
// KV rows of a decode step are evicted by the weights streamed since the last step.

/** Pushes the byte address `base + p·4` (p a byte counter of 4 per key). */
const at4 = (base: number, p: number) => [...get(base), ...get(p), op.i32Add];

/**
 * `scores`: params q 0, rows 1, keys 2, dBytes 3, out 4, kOff 5, kvHeads 6, group 7, outStride 8. For each key p
 * (pool row at kOff + rows[p]) and query head h = g·group + j (q_h at q + h·dBytes, kv head g at + g·dBytes of the
 * row): out[h·outStride + 4p] = q_h · K_p,g as (l0 + l1) + (l2 + l3) of four float32 lane sums (d mod 4).
 */
function scoresBody(): number[] {
  const [p, qh, oh, g, j, kh, d] = [9, 10, 11, 12, 13, 14, 15]; // i32 (p counts bytes: 4 per key)
  const [sum, zero] = [16, 17]; // v128 (zero is never set)
  const b: number[] = [];
  b.push(op.i32Const, 0, ...set(p), ...get(2), op.i32Const, 2, 0x74, ...set(2)); // keys → bytes of rows
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(2), op.i32GeU, op.brIf, 1);
  b.push(...at4(1, p), ...i32Load, ...get(5), op.i32Add, ...set(kh));
  b.push(...get(0), ...set(qh), ...at4(4, p), ...set(oh), ...get(6), ...set(g));
  b.push(op.loop, 0x40, ...get(7), ...set(j), op.loop, 0x40);
  b.push(...get(zero), ...set(sum), op.i32Const, 0, ...set(d), op.loop, 0x40);
  b.push(...get(sum), ...get(qh), ...get(d), op.i32Add, ...load(), ...get(kh), ...get(d), op.i32Add, ...load());
  b.push(...fMul, ...fAdd, ...set(sum), ...add(d, 16), ...get(d), ...get(3), op.i32LtU, op.brIf, 0, op.end);
  b.push(...get(oh), ...laneSum(sum), op.f32Store, 2, 0);
  b.push(...get(qh), ...get(3), op.i32Add, ...set(qh), ...get(oh), ...get(8), op.i32Add, ...set(oh));
  b.push(...get(j), op.i32Const, ...sleb(-1), op.i32Add, op.localTee, ...uleb(j), op.brIf, 0, op.end);
  b.push(...get(kh), ...get(3), op.i32Add, ...set(kh));
  b.push(...get(g), op.i32Const, ...sleb(-1), op.i32Add, op.localTee, ...uleb(g), op.brIf, 0, op.end);
  b.push(...add(p, 4), op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [7, I32],
      [2, V128],
    ]),
    ...b,
  ];
}

/**
 * `values`: params w 0, rows 1, keys 2, dBytes 3, out 4, vOff 5, kvHeads 6, group 7, wStride 8. Zeroes out[0, heads ·
 * dBytes), then for each key p in order and query head h = g·group + j: out_h += w[h·wStride + 4p] · V_p,g (pool row
 * at vOff + rows[p], kv head g at + g·dBytes): each element summed in key order from 0, as the per-head kernel did.
 */
function valuesBody(): number[] {
  const [p, wh, oh, g, j, vh, d, end, a] = [9, 10, 11, 12, 13, 14, 15, 16, 17]; // i32
  const [x, zero] = [18, 19]; // v128 (zero is never set)
  const b: number[] = [];
  // end = kvHeads · group · dBytes; out[0, end) = 0
  b.push(...get(6), ...get(7), op.i32Mul, ...get(3), op.i32Mul, ...set(end), op.i32Const, 0, ...set(d));
  b.push(op.block, 0x40, op.loop, 0x40, ...get(d), ...get(end), op.i32GeU, op.brIf, 1);
  b.push(...get(4), ...get(d), op.i32Add, ...get(zero), ...store(), ...add(d, 16), op.br, 0, op.end, op.end);
  b.push(op.i32Const, 0, ...set(p), ...get(2), op.i32Const, 2, 0x74, ...set(2)); // keys → bytes of rows
  b.push(op.block, 0x40, op.loop, 0x40, ...get(p), ...get(2), op.i32GeU, op.brIf, 1);
  b.push(...at4(1, p), ...i32Load, ...get(5), op.i32Add, ...set(vh));
  b.push(...at4(0, p), ...set(wh), ...get(4), ...set(oh), ...get(6), ...set(g));
  b.push(op.loop, 0x40, ...get(7), ...set(j), op.loop, 0x40);
  b.push(...get(wh), ...splat32, ...set(x), op.i32Const, 0, ...set(d), op.loop, 0x40);
  b.push(...get(oh), ...get(d), op.i32Add, op.localTee, ...uleb(a), ...get(a), ...load(), ...get(x));
  b.push(...get(vh), ...get(d), op.i32Add, ...load(), ...fMul, ...fAdd, ...store());
  b.push(...add(d, 16), ...get(d), ...get(3), op.i32LtU, op.brIf, 0, op.end);
  b.push(...get(wh), ...get(8), op.i32Add, ...set(wh), ...get(oh), ...get(3), op.i32Add, ...set(oh));
  b.push(...get(j), op.i32Const, ...sleb(-1), op.i32Add, op.localTee, ...uleb(j), op.brIf, 0, op.end);
  b.push(...get(vh), ...get(3), op.i32Add, ...set(vh));
  b.push(...get(g), op.i32Const, ...sleb(-1), op.i32Add, op.localTee, ...uleb(g), op.brIf, 0, op.end);
  b.push(...add(p, 4), op.br, 0, op.end, op.end, op.end);
  return [
    ...vec([
      [9, I32],
      [2, V128],
    ]),
    ...b,
  ];
}

/** The module: the tile module's memory imported as `env.mem`, then `scores` and `values` (9 × i32 → ()). */
export function attentionModuleBytes(): Uint8Array<ArrayBuffer> {
  const bodies = [scoresBody(), valuesBody()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 9 }, () => [I32])), 0]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, 1, ...uleb(65536)]])),
    ...section(3, vec([[0], [0]])),
    ...section(
      7,
      vec([
        [...name('scores'), 0x00, 0],
        [...name('values'), 0x00, 1],
      ]),
    ),
    ...section(10, vec(bodies.map((body) => [...uleb(body.length), ...body]))),
  ]);
}

/**
 * One kernel of this module (see `scores` and `values` above): x (q or weights), rows (i32 byte offsets of the keys'
 * pool rows), keys, dBytes (bytes of one head, a multiple of 16), out, off (the pool's byte address), kvHeads, group
 * (query heads per kv head) and stride (bytes between heads' rows of scores or weights); addresses in bytes.
 */
export type AttentionKernel = (
  x: number,
  rows: number,
  keys: number,
  dBytes: number,
  out: number,
  off: number,
  kvHeads: number,
  group: number,
  stride: number,
) => void;

/** The instantiated kernels over the tile module's shared memory. */
export interface WasmAttention {
  readonly memory: WebAssembly.Memory;
  /** Dots of every query head with each key row. */
  readonly scores: AttentionKernel;
  /** The weighted sums of value rows, every head. */
  readonly values: AttentionKernel;
}

let instance: WasmAttention | null | undefined;

/**
 * The attention kernels, instantiated on first use; null where WebAssembly SIMD or a shared memory is unavailable
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
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: tile.memory } }).exports;
    instance = { memory: tile.memory, scores: e.scores as AttentionKernel, values: e.values as AttentionKernel };
  } catch {
    // An engine that validates SIMD but refuses the import: stay on the JS loops.
  }
  return instance;
}
