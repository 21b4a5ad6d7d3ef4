/**
 * WebAssembly SIMD kernels of CPU paged attention (paged-attention.ts), over the tile module's shared memory
 * (wasm-tile.ts), where the KV pools live once moved (wasm-heap.ts). Why: the JS loops over keys ran at ~0.4 G
 * multiply-adds per CPU-second (one float64 add chain per dot), and attention for 16 decode rows was ~10 % of a
 * stories-15m step at 28 positions and ~30 % at 150. Float32 lanes, four partial sums per dot; the softmax stays in
 * float64 in JS between the two kernels.
 *
 * - `scores(q, rows, keys, dBytes, out, kOff)`: out[p] = q · K_p for p < keys, K_p at kOff + rows[p] (rows: i32 byte
 *   offsets), q and K_p of dBytes bytes (a multiple of 16), sums as (l0 + l1) + (l2 + l3) of lanes d mod 4. Keys go
 *   in pairs sharing q's loads.
 * - `values(w, rows, keys, dBytes, out, vOff)`: out[0..D) = Σ_p w[p]·V_p, V_p at vOff + rows[p], in p order per
 *   element; 4 vectors of d per pass over the keys, the 1–3 left in one last pass.
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
const I32_NE = 0x47;
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

/** `scores`: params q 0, rows 1, keys 2, dBytes 3, out 4, kOff 5. */
function scoresBody(): number[] {
  const [p, d, a0, a1] = [6, 7, 8, 9]; // i32: p (key index), d (bytes of d), key addresses
  const [s0, s1, x, zero] = [10, 11, 12, 13]; // v128 (zero is never set)
  const b: number[] = [];
  const key = (slot: number, off: number) => [
    ...get(1),
    ...get(p),
    op.i32Const,
    2,
    0x74, // i32.shl
    op.i32Add,
    0x28,
    2,
    off,
    ...get(5),
    op.i32Add,
    ...set(slot),
  ];
  // Pairs: block { loop { if p + 2 > keys break; … } }
  b.push(op.i32Const, 0, ...set(p), op.block, 0x40, op.loop, 0x40);
  b.push(...get(p), op.i32Const, 2, op.i32Add, ...get(2), op.i32GtU, op.brIf, 1);
  b.push(...key(a0, 0), ...key(a1, 4), ...get(zero), ...set(s0), ...get(zero), ...set(s1));
  b.push(op.i32Const, 0, ...set(d), op.loop, 0x40);
  b.push(...get(0), ...get(d), op.i32Add, ...load(), ...set(x));
  b.push(...get(s0), ...get(x), ...get(a0), ...get(d), op.i32Add, ...load(), ...fMul, ...fAdd, ...set(s0));
  b.push(...get(s1), ...get(x), ...get(a1), ...get(d), op.i32Add, ...load(), ...fMul, ...fAdd, ...set(s1));
  b.push(...add(d, 16), ...get(d), ...get(3), op.i32LtU, op.brIf, 0, op.end);
  b.push(...get(4), ...get(p), op.i32Const, 2, 0x74, op.i32Add, ...laneSum(s0), op.f32Store, 2, 0);
  b.push(...get(4), ...get(p), op.i32Const, 2, 0x74, op.i32Add, ...laneSum(s1), op.f32Store, 2, 4);
  b.push(...add(p, 2), op.br, 0, op.end, op.end);
  // The last key of an odd count.
  b.push(op.block, 0x40, ...get(p), ...get(2), op.i32GeU, op.brIf, 0);
  b.push(...key(a0, 0), ...get(zero), ...set(s0), op.i32Const, 0, ...set(d), op.loop, 0x40);
  b.push(...get(s0), ...get(0), ...get(d), op.i32Add, ...load(), ...get(a0), ...get(d), op.i32Add, ...load());
  b.push(...fMul, ...fAdd, ...set(s0), ...add(d, 16), ...get(d), ...get(3), op.i32LtU, op.brIf, 0, op.end);
  b.push(...get(4), ...get(p), op.i32Const, 2, 0x74, op.i32Add, ...laneSum(s0), op.f32Store, 2, 0, op.end);
  b.push(op.end);
  return [
    ...vec([
      [4, I32],
      [4, V128],
    ]),
    ...b,
  ];
}

/** `values`: params w 0, rows 1, keys 2, dBytes 3, out 4, vOff 5. */
function valuesBody(): number[] {
  const [d, p, at, end] = [6, 7, 8, 9]; // i32
  const [w, zero] = [10, 11]; // v128
  const acc = [12, 13, 14, 15];
  const b: number[] = [];
  // One pass over the keys for `vectors` vectors of d at byte d: acc_j = Σ_p w[p]·V_p[d + 16j].
  const pass = (vectors: number) => {
    for (let j = 0; j < vectors; j++) b.push(...get(zero), ...set(acc[j]!));
    b.push(op.i32Const, 0, ...set(p), op.block, 0x40, ...get(2), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
    b.push(...get(1), ...get(p), op.i32Add, ...i32Load, ...get(5), op.i32Add, ...get(d), op.i32Add, ...set(at));
    b.push(...get(0), ...get(p), op.i32Add, ...splat32, ...set(w));
    for (let j = 0; j < vectors; j++) {
      b.push(...get(acc[j]!), ...get(w), ...get(at), ...load(16 * j), ...fMul, ...fAdd, ...set(acc[j]!));
    }
    b.push(...add(p, 4), ...get(p), ...get(end), op.i32LtU, op.brIf, 0, op.end, op.end);
    for (let j = 0; j < vectors; j++) b.push(...get(4), ...get(d), op.i32Add, ...get(acc[j]!), ...store(16 * j));
    b.push(...add(d, 16 * vectors));
  };
  b.push(...get(2), op.i32Const, 2, 0x74, ...set(end), op.i32Const, 0, ...set(d));
  // block { loop { if d + 64 > dBytes break; pass(4) } }, then the 1–3 vectors left in one more pass: a head of 48
  // (stories-15m) is one pass over the keys, not 3.
  // (64 as a signed LEB128 byte is −64: before 2026-12-05 this bound read d − 64 > dBytes, always true unsigned, so
  // the 4-vector passes never ran and every head was summed one vector per pass.)
  b.push(
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(d),
    op.i32Const,
    ...sleb(64),
    op.i32Add,
    ...get(3),
    op.i32GtU,
    op.brIf,
    1,
  );
  pass(4);
  b.push(op.br, 0, op.end, op.end);
  // block $out { if d >= dBytes break; block { if dBytes − d ≠ 48 break; pass(3); br $out } (same for 32); pass(1) }
  b.push(op.block, 0x40, ...get(d), ...get(3), op.i32GeU, op.brIf, 0);
  for (const vectors of [3, 2]) {
    b.push(op.block, 0x40, ...get(3), ...get(d), op.i32Sub, op.i32Const, ...sleb(16 * vectors), I32_NE, op.brIf, 0);
    pass(vectors);
    b.push(op.br, 1, op.end);
  }
  pass(1);
  b.push(op.end, op.end);
  return [
    ...vec([
      [4, I32],
      [6, V128],
    ]),
    ...b,
  ];
}

/** The module: the tile module's memory imported as `env.mem`, then `scores` and `values` (6 × i32 → ()). */
export function attentionModuleBytes(): Uint8Array<ArrayBuffer> {
  const bodies = [scoresBody(), valuesBody()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 6 }, () => [I32])), 0]])),
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

/** One kernel of this module (see the module comment); every argument is a byte address, offset or count. */
export type AttentionKernel = (x: number, rows: number, keys: number, dBytes: number, out: number, off: number) => void;

/** The instantiated kernels over the tile module's shared memory. */
export interface WasmAttention {
  readonly memory: WebAssembly.Memory;
  /** Dots of q with each key row. */
  readonly scores: AttentionKernel;
  /** The weighted sum of value rows. */
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
