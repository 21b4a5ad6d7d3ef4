/**
 * CPU kernels of the paged KV cache (see `ops/paged-attention.ts`): writing new key/value rows into their pool rows,
 * and attention that reads keys/values through a block table.
 *
 * @module
 */
import { isHalf, type PagedIndexLayout, type Storage, type View } from '../backend/backend.js';
import { encodeHalfInto, halfValueTable } from '../formats/half-precision.js';
import { ATTEND, ATTEND_INTS, attendScratchBytes, attendStride } from './attention-kernel.js';
import { runRangeKernel } from './cpu-threads.js';
import { allocCpu, cpuData, cpuStorage, markWritten, readView } from './storage.js';
import { wasmAttention } from './wasm-attention.js';
import { ensureMemory, moveToHeap, WORK_BYTES } from './wasm-heap.js';

/** Row rowSlot[n] of `pool` (rows of W) = src[n] for src [N, W], rounded to a half pool's dtype. In place. */
export function writePagedRows(pool: Storage, src: View, index: View, layout: PagedIndexLayout): void {
  const W = src.shape[1] as number;
  const S = readView(src) as Float32Array;
  const idx = readView(index);
  const p = cpuStorage(pool);
  markWritten(pool);
  const slots = 2 * layout.rows;
  const dtype = p.dtype;
  if (isHalf(dtype)) {
    const H = p.data as Uint16Array;
    for (let n = 0; n < layout.rows; n++) {
      encodeHalfInto(dtype, S.subarray(n * W, (n + 1) * W), H, (idx[slots + n] as number) * W);
    }
    return;
  }
  const D = cpuData(pool);
  for (let n = 0; n < layout.rows; n++) D.set(S.subarray(n * W, (n + 1) * W), (idx[slots + n] as number) * W);
}

/**
 * A pool's elements as float32 values by index: the array itself, or for a half pool its bits and the 65 536-entry
 * value table (the JS loops read K[i] as table[bits[i]]).
 */
function poolValues(pool: View): { bits: Uint16Array; table: Float32Array } | Float32Array {
  const p = cpuStorage(pool.storage);
  if (!isHalf(p.dtype)) return cpuData(p).subarray(pool.offset) as Float32Array;
  return { bits: (p.data as Uint16Array).subarray(pool.offset), table: halfValueTable(p.dtype) };
}

/**
 * Row n (query heads [Hq, D]) of sequence rowSeq[n] attends that sequence's positions [0, rowKeys[n]), read through
 * the block table. Query head h reads kv head ⌊h / (Hq/Hkv)⌋. With WebAssembly SIMD and a head size that is a
 * multiple of 4, the pools move into wasm memory for good (on their first use here) and one kernel attends the rows
 * (wasm-attention.ts), split across the CPU threads when there is enough work; otherwise JS loops. Softmax in
 * float64 in the JS loops, two passes over the keys: all scores and their maximum first, then one exponential per
 * key and a plain weighted sum of the values. Why not the one-pass online softmax: it costs two exponentials and a
 * rescale of the whole accumulator per key, and at 16 decode rows this kernel was ~15 % of a stories-15m step.
 * float16 / bfloat16 pools are read as their values: widened in the SIMD kernel, through a value table in the loops.
 */
export function pagedAttention(
  q: View,
  kPool: View,
  vPool: View,
  index: View,
  layout: PagedIndexLayout,
  scale: number,
): Storage {
  const [N, Hq, D] = q.shape as [number, number, number];
  const Hkv = kPool.shape[2] as number;
  const { blockSize, maxBlocks } = layout;
  const group = Hq / Hkv;
  const Q = readView(q);
  const idx = readView(index);
  const table = 3 * N;
  const out = allocCpu('float32', N * Hq * D);
  const o = out.data;
  let most = 0;
  for (let n = 0; n < N; n++) most = Math.max(most, idx[N + n] as number);
  if (wasmPaged(Q, kPool, vPool, idx, layout, scale, [N, Hq, D], most, o)) return out;
  const kValues = poolValues(kPool);
  const vValues = poolValues(vPool);
  // Half pools: each key/value row decoded into a float32 row (rows are tiny; the loops below stay as for float32).
  const rowOf = (values: typeof kValues, base: number, into: Float32Array): Float32Array => {
    if (values instanceof Float32Array) return values.subarray(base, base + D);
    for (let d = 0; d < D; d++) into[d] = values.table[values.bits[base + d] as number] as number;
    return into;
  };
  const kRow = new Float32Array(D);
  const vRow = new Float32Array(D);
  const rowBase = new Int32Array(most);
  const scores = new Float64Array(most);
  const acc = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const seq = idx[n] as number;
    const keys = idx[N + n] as number;
    // Float offset of position p's pool row (all kv heads).
    for (let p = 0; p < keys; p++) {
      const block = idx[table + seq * maxBlocks + Math.floor(p / blockSize)] as number;
      rowBase[p] = (block * blockSize + (p % blockSize)) * Hkv * D;
    }
    for (let h = 0; h < Hq; h++) {
      const head = Math.floor(h / group) * D;
      const qBase = (n * Hq + h) * D;
      if (keys === 0) {
        o.fill(0, qBase, qBase + D);
        continue;
      }
      let m = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < keys; p++) {
        const K = rowOf(kValues, (rowBase[p] as number) + head, kRow);
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (Q[qBase + d] as number) * (K[d] as number);
        const score = dot * scale;
        scores[p] = score;
        if (score > m) m = score;
      }
      let l = 0;
      acc.fill(0);
      for (let p = 0; p < keys; p++) {
        const w = Math.exp((scores[p] as number) - m);
        l += w;
        const V = rowOf(vValues, (rowBase[p] as number) + head, vRow);
        for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + w * (V[d] as number);
      }
      for (let d = 0; d < D; d++) o[qBase + d] = (acc[d] as number) / l;
    }
  }
  return out;
}

/**
 * A multiply-add of attention counts as this many of a product's against the threads' split threshold
 * (cpu-threads.ts): each reads its own 4 bytes of a pool row, mostly from DRAM, and ran ~4–5× slower than a batched
 * product's multiply-add (3.5–4 vs ~18 G/s per core, bench/paged-attention-kernels.mjs).
 */
const SPLIT_WEIGHT = 4;

/**
 * The attention of {@link pagedAttention} on the SIMD kernel (wasm-attention.ts), its rows split across the CPU
 * threads (cpu-threads.ts) when there is enough work; false, having written nothing, where the kernel is unavailable,
 * the head size is not a positive multiple of 4, or the pools cannot move into wasm memory. Work area (bytes from 0):
 * the parameter block, the index, then per row its query heads, its outputs and its scratch; rows that do not fit
 * at once run in turns.
 */
function wasmPaged(
  Q: Float32Array | Int32Array,
  kPool: View,
  vPool: View,
  idx: Float32Array | Int32Array,
  layout: PagedIndexLayout,
  scale: number,
  [N, Hq, D]: [number, number, number],
  most: number,
  o: Float32Array | Int32Array | Uint16Array,
): boolean {
  const wasm = wasmAttention();
  if (!wasm || D === 0 || D % 4 !== 0) return false;
  const indexAt = 4 * ATTEND_INTS;
  const orderAt = indexAt + 16 * Math.ceil(idx.length / 4);
  const qAt = orderAt + 16 * Math.ceil(N / 4);
  const scratchBytes = attendScratchBytes(Hq, most, 4 * D);
  const rowBytes = 8 * Hq * D + scratchBytes;
  const turn = Math.min(N, Math.floor((WORK_BYTES - qAt) / rowBytes));
  if (turn < 1 || !ensureMemory(wasm.memory, qAt + turn * rowBytes)) return false;
  const element = cpuStorage(kPool.storage).dtype;
  if (element === 'int32') return false; // the op refuses int32 pools; never read their bits as floats
  const kernel = wasm.kernels[element];
  const poolBytes = isHalf(element) ? 2 : 4;
  const kBlock = moveToHeap(cpuStorage(kPool.storage), 0);
  const vBlock = moveToHeap(cpuStorage(vPool.storage), 0);
  if (!kBlock || !vBlock) return false;
  const Hkv = kPool.shape[2] as number;
  const outAt = qAt + 4 * turn * Hq * D;
  const scratchAt = outAt + 4 * turn * Hq * D;
  const buffer = wasm.memory.buffer;
  const params = new Int32Array(buffer, 0, ATTEND_INTS);
  new Int32Array(buffer, indexAt, idx.length).set(idx);
  const f = new Float32Array(buffer, qAt, 2 * turn * Hq * D);
  params[ATTEND.INDEX] = indexAt;
  params[ATTEND.ROWS] = N;
  params[ATTEND.MAX_BLOCKS] = layout.maxBlocks;
  params[ATTEND.BLOCK_SIZE] = layout.blockSize;
  params[ATTEND.Q] = qAt;
  params[ATTEND.OUT] = outAt;
  params[ATTEND.SCRATCH] = scratchAt;
  params[ATTEND.K_POOL] = 4 * kBlock.start + poolBytes * kPool.offset;
  params[ATTEND.V_POOL] = 4 * vBlock.start + poolBytes * vPool.offset;
  params[ATTEND.KV_HEADS] = Hkv;
  params[ATTEND.GROUP] = Hq / Hkv;
  params[ATTEND.HEAD_BYTES] = 4 * D;
  params[ATTEND.POOL_HEAD_BYTES] = poolBytes * D;
  params[ATTEND.STRIDE] = attendStride(most);
  params[ATTEND.SCALE_BITS] = new Int32Array(Float32Array.of(scale).buffer)[0]!;
  params[ATTEND.SCRATCH_BYTES] = scratchBytes;
  params[ATTEND.ORDER] = orderAt;
  const order = new Int32Array(buffer, orderAt, N);
  const rowFloats = Hq * D;
  for (let n0 = 0; n0 < N; n0 += turn) {
    const rows = Math.min(turn, N - n0);
    let multiplyAdds = 0;
    for (let n = n0; n < n0 + rows; n++) multiplyAdds += 2 * SPLIT_WEIGHT * (idx[N + n] as number) * rowFloats;
    params[ATTEND.FIRST_ROW] = n0;
    // Longest rows first (ties in row order): the rows taken last are short, so the threads finish together.
    const turnOrder = order.subarray(0, rows);
    for (let i = 0; i < rows; i++) turnOrder[i] = n0 + i;
    turnOrder.sort((a, b) => (idx[N + b] as number) - (idx[N + a] as number) || a - b);
    f.set(Q.subarray(n0 * rowFloats, (n0 + rows) * rowFloats));
    runRangeKernel(kernel.name, kernel.run, 0, rows, multiplyAdds);
    o.set(f.subarray(turn * rowFloats, (turn + rows) * rowFloats), n0 * rowFloats);
  }
  return true;
}
