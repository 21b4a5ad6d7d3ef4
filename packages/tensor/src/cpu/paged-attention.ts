/**
 * CPU kernels of the paged KV cache (see `ops/paged-attention.ts`): writing new key/value rows into their pool rows,
 * and attention that reads keys/values through a block table.
 *
 * @module
 */
import type { PagedIndexLayout, Storage, View } from '../backend/backend.js';
import { allocCpu, cpuData, cpuStorage, markWritten, readView } from './storage.js';
import { wasmAttention } from './wasm-attention.js';
import { moveToHeap, WORK_BYTES } from './wasm-heap.js';
import { wasmRows } from './wasm-rows.js';

/** Row rowSlot[n] of `pool` (rows of W) = src[n] for src [N, W]. In place. */
export function writePagedRows(pool: Storage, src: View, index: View, layout: PagedIndexLayout): void {
  const W = src.shape[1] as number;
  const S = readView(src);
  const idx = readView(index);
  const D = cpuData(pool);
  markWritten(pool);
  const slots = 2 * layout.rows;
  for (let n = 0; n < layout.rows; n++) D.set(S.subarray(n * W, (n + 1) * W), (idx[slots + n] as number) * W);
}

/**
 * Row n (query heads [Hq, D]) of sequence rowSeq[n] attends that sequence's positions [0, rowKeys[n]), read through
 * the block table. Query head h reads kv head ⌊h / (Hq/Hkv)⌋. With WebAssembly SIMD and a head size that is a
 * multiple of 4, the pools move into wasm memory for good (on their first use here) and the dots run there
 * (wasm-attention.ts); otherwise JS loops. Softmax in float64, two passes over the keys: all
 * scores and their maximum first, then one exponential per key and a plain weighted sum of the values. Why not the
 * one-pass online softmax: it costs two exponentials and a rescale of the whole accumulator per key, and at 16 decode
 * rows this kernel was ~15 % of a stories-15m step. The pool rows a sequence reads are looked up once per row, not
 * once per head.
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
  const K = readView(kPool);
  const V = readView(vPool);
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
        const base = (rowBase[p] as number) + head;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (Q[qBase + d] as number) * (K[base + d] as number);
        const score = dot * scale;
        scores[p] = score;
        if (score > m) m = score;
      }
      let l = 0;
      acc.fill(0);
      for (let p = 0; p < keys; p++) {
        const w = Math.exp((scores[p] as number) - m);
        l += w;
        const base = (rowBase[p] as number) + head;
        for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + w * (V[base + d] as number);
      }
      for (let d = 0; d < D; d++) o[qBase + d] = (acc[d] as number) / l;
    }
  }
  return out;
}

/**
 * The attention of {@link pagedAttention} on the SIMD kernels; false, having written nothing, where they are
 * unavailable, the head size is not a positive multiple of 4, or the pools cannot move into wasm memory. Per row,
 * one `scores` call dots every head with every key and one `values` call sums every head's values, both walking the
 * keys' pool rows in order (wasm-attention.ts); between them, each head's softmax weights come from one call of the
 * row kernels (wasm-rows.ts, float32 exponentials: as `Math.exp` per key and head they were ~2 % of a stories-15m
 * decode step) and are summed in float64 here. Work area (bytes from 0): the row's pool offsets (i32), the heads'
 * scores then weights ([Hq, most rounded up to 4] f32), its query heads, the heads' outputs.
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
  const rows4 = wasmRows();
  // Each head's scores take whole vectors (the softmax kernel's; −∞ pads the tail).
  const stride = 4 * Math.ceil(most / 4);
  const rowsAt = 0;
  const weightsAt = 4 * stride;
  const qAt = weightsAt + 4 * Hq * stride;
  const outAt = qAt + 4 * Hq * D;
  if (!wasm || !rows4 || D === 0 || D % 4 !== 0 || outAt + 4 * Hq * D > WORK_BYTES) return false;
  const kBlock = moveToHeap(cpuStorage(kPool.storage), 0);
  const vBlock = moveToHeap(cpuStorage(vPool.storage), 0);
  if (!kBlock || !vBlock) return false;
  const Hkv = kPool.shape[2] as number;
  const { blockSize, maxBlocks } = layout;
  const group = Hq / Hkv;
  const table = 3 * N;
  const buffer = wasm.memory.buffer;
  const rows = new Int32Array(buffer, rowsAt, most);
  const f = new Float32Array(buffer, 0, outAt / 4 + Hq * D);
  const kStart = 4 * (kBlock.start + kPool.offset);
  const vStart = 4 * (vBlock.start + vPool.offset);
  const sums = new Float64Array(Hq);
  for (let n = 0; n < N; n++) {
    const seq = idx[n] as number;
    const keys = idx[N + n] as number;
    const rowQ = n * Hq * D;
    if (keys === 0) {
      o.fill(0, rowQ, rowQ + Hq * D);
      continue;
    }
    for (let p = 0; p < keys; p++) {
      const block = idx[table + seq * maxBlocks + Math.floor(p / blockSize)] as number;
      rows[p] = 4 * (block * blockSize + (p % blockSize)) * Hkv * D;
    }
    f.set(Q.subarray(rowQ, rowQ + Hq * D), qAt / 4);
    wasm.scores(qAt, rowsAt, keys, 4 * D, weightsAt, kStart, Hkv, group, 4 * stride);
    const padded = 4 * Math.ceil(keys / 4);
    for (let h = 0; h < Hq; h++)
      f.fill(Number.NEGATIVE_INFINITY, weightsAt / 4 + h * stride + keys, weightsAt / 4 + h * stride + padded);
    // w = exp(score·scale − max) per head in float32 lanes (wasm-rows.ts), summed here in float64 in key order.
    rows4.softmaxWeights(weightsAt, 4 * padded, Hq, 4 * stride, scale);
    for (let h = 0; h < Hq; h++) {
      const s = weightsAt / 4 + h * stride;
      let l = 0;
      for (let p = 0; p < keys; p++) l += f[s + p] as number;
      sums[h] = l;
    }
    wasm.values(weightsAt, rowsAt, keys, 4 * D, outAt, vStart, Hkv, group, 4 * stride);
    for (let h = 0; h < Hq; h++) {
      const l = sums[h] as number;
      for (let d = 0; d < D; d++) o[rowQ + h * D + d] = (f[outAt / 4 + h * D + d] as number) / l;
    }
  }
  return true;
}
