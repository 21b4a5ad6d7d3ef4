/**
 * CPU kernels of the paged KV cache (see `ops/paged-attention.ts`): writing new key/value rows into their pool rows,
 * and attention that reads keys/values through a block table.
 *
 * @module
 */
import type { PagedIndexLayout, Storage, View } from '../backend/backend.js';
import { allocCpu, cpuData, markWritten, readView } from './storage.js';

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
 * the block table. Query head h reads kv head ⌊h / (Hq/Hkv)⌋. Online softmax in float64, one pass over the keys.
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
  const K = readView(kPool);
  const V = readView(vPool);
  const idx = readView(index);
  const table = 3 * N;
  const out = allocCpu('float32', N * Hq * D);
  const acc = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const seq = idx[n] as number;
    const keys = idx[N + n] as number;
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (n * Hq + h) * D;
      let m = Number.NEGATIVE_INFINITY;
      let l = 0;
      acc.fill(0);
      for (let p = 0; p < keys; p++) {
        const block = idx[table + seq * maxBlocks + Math.floor(p / blockSize)] as number;
        const base = ((block * blockSize + (p % blockSize)) * Hkv + kvh) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (Q[qBase + d] as number) * (K[base + d] as number);
        const score = dot * scale;
        const mNew = Math.max(m, score);
        const correction = Math.exp(m - mNew);
        const w = Math.exp(score - mNew);
        l = l * correction + w;
        for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) * correction + w * (V[base + d] as number);
        m = mNew;
      }
      for (let d = 0; d < D; d++) out.data[qBase + d] = keys === 0 ? 0 : (acc[d] as number) / l;
    }
  }
  return out;
}
