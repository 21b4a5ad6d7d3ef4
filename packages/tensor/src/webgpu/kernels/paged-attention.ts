/**
 * WebGPU kernels of the paged KV cache (see `ops/paged-attention.ts`): one dispatch writes every new key (or value)
 * row into its pool row, and one dispatch runs attention for every query row through the block table, so a step
 * mixing decodes and prefill chunks of many sequences costs two writes and one attention dispatch per layer.
 *
 * Attention runs one invocation per (query row, query head), reading keys/values straight from the pool (a row's
 * keys are scattered over blocks, so there is no contiguous tile to stage) with an online softmax, four keys per
 * step as in the contiguous kernel. The kernel is specialised on the head dim D (private arrays need a constant size).
 *
 * @module
 */

import { type DType, isHalf, type PagedIndexLayout, type View } from '../../backend/backend.js';
import { f32bits, type GpuStorage, type Runtime } from '../runtime.js';
import { ATTN_MAX_D } from './attention.js';
import { forwardStep, headDimLoop } from './attention-wgsl.js';
import { HALF_CODEC, halfArray, halfEnable, halfEncoder, halfLoad, halfStoreFn, halfTag } from './half-code.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';

/**
 * The pool write for a half pool bound as packed words when the rows are whole words (W even): one invocation per
 * word, both halves encoded and stored at once, so no atomics (two invocations never share a word).
 */
const WRITE_WORDS = (dtype: DType) => `
@group(0) @binding(1) var<storage, read_write> pool: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
${HALF_CODEC}
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let W = pu(1u);
  let e = 2u * i;
  let n = e / W;
  let at = pu(4u) + e;
  let lo = ${halfEncoder(dtype)}(src[at]);
  let hi = ${halfEncoder(dtype)}(src[at + 1u]);
  pool[(pu(2u) + u32(idx[pu(3u) + n]) * W + e % W) >> 1u] = lo | (hi << 16u);
}`;

/** The pool write for a pool of `dtype` (a half pool stores each value rounded to nearest even, half-code.ts). */
const WRITE_ROWS = (rt: Runtime, dtype: DType) => `${halfEnable(rt, [dtype])}
@group(0) @binding(1) var<storage, read_write> pool: ${isHalf(dtype) ? halfArray(rt, dtype, true) : 'array<f32>'};
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
${isHalf(dtype) ? `${HALF_CODEC}\n${halfStoreFn(rt, dtype, 'pool', 'store_pool')}` : 'fn store_pool(i: u32, v: f32) { pool[i] = v; }'}
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let W = pu(1u);
  let n = i / W;
  store_pool(pu(2u) + u32(idx[pu(3u) + n]) * W + i % W, src[pu(4u) + i]);
}`;

const ROWS_PER_GROUP = 64;

/** Attention over pools of `dtype` (half pools read as their values, float32 arithmetic). */
const ATTENTION = (rt: Runtime, D: number, dtype: DType) => {
  const pool = isHalf(dtype) ? halfArray(rt, dtype, false) : 'array<f32>';
  const load = (name: string, index: string) =>
    isHalf(dtype) ? halfLoad(rt, dtype, name, index) : `${name}[${index}]`;
  return `${halfEnable(rt, [dtype])}
const D: u32 = ${D}u;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: ${pool};
@group(0) @binding(4) var<storage, read> v: ${pool};${dtype === 'bfloat16' ? `\n${HALF_CODEC}` : ''}
@group(0) @binding(5) var<storage, read> idx: array<i32>;
@compute @workgroup_size(${ROWS_PER_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${ROWS_PER_GROUP}u + li;
  if (i >= pu(0u)) { return; }
  let dim = min(pu(12u), D);
  let Hq = pu(1u); let group = pu(2u); let Hkv = pu(3u); let bs = pu(4u); let maxBlocks = pu(5u);
  let scale = pf(6u);
  let n = i / Hq;
  let h = i % Hq;
  let N = pu(13u);
  let ib = pu(10u);
  let seq = u32(idx[ib + n]);
  let keys = u32(idx[ib + N + n]);
  let tb = ib + 3u * N + seq * maxBlocks;
  let kvOff = (h / group) * D;
  let qBase = pu(7u) + i * D;
  var qr: array<f32, D>;
  var ar: array<f32, D>;
  ${headDimLoop('qr[d] = q[qBase + d] * scale; ar[d] = 0.0;')}
  var m = -inf_();
  var l = 0.0;
  for (var p = 0u; p < keys; p += 4u) {
    ${[0, 1, 2, 3]
      .map(
        (u) => `let p${u} = min(p + ${u}u, keys - 1u);
    let r${u} = ((u32(idx[tb + p${u} / bs]) * bs + p${u} % bs) * Hkv) * D + kvOff;`,
      )
      .join('\n    ')}
    let kb = pu(8u); let vb = pu(9u);
    ${forwardStep({
      U: 4,
      first: (u, d) => load('k', `kb + r${u} + ${d}`),
      second: (u, d) => load('v', `vb + r${u} + ${d}`),
      ok: (u) => `p + ${u}u < keys`,
    })}
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let ob = i * D;
  ${headDimLoop('o[ob + d] = ar[d] * inv;')}
}`;
};

/**
 * Row rowSlot[n] of `pool` (rows of W elements) = src[n] for src [N, W]; one dispatch, in place. A half pool bound as
 * packed words (bfloat16 always, float16 without `shader-f16`) is written a word per invocation when W is even, else
 * an element per invocation through atomics on the words.
 */
export function writePagedRows(rt: Runtime, pool: GpuStorage, src: View, index: View, layout: PagedIndexLayout): void {
  const W = src.shape[1]!;
  const total = layout.rows * W;
  if (total === 0) return;
  const temps: GpuStorage[] = [];
  const sv = contiguousInput(rt, src, temps);
  const iv = contiguousInput(rt, index, temps);
  const dtype = pool.dtype;
  const words = isHalf(dtype) && halfTag(rt, dtype) === 'p' && W % 2 === 0;
  const p = words
    ? rt.pipeline(`paged:write-words:${dtype}`, () => WRITE_WORDS(dtype))
    : rt.pipeline(`paged:write:${dtype}${halfTag(rt, dtype)}`, () => WRITE_ROWS(rt, dtype));
  const count = words ? total / 2 : total;
  const params = [count, W, 0, iv.offset + 2 * layout.rows, sv.offset];
  rt.dispatch(p, [pool, sv.storage, iv.storage] as GpuStorage[], params, Math.ceil(count / 128));
  freeAll(rt, temps);
}

/** Paged attention: o [N, Hq, D] for q [N, Hq, D] over kPool/vPool [numBlocks, blockSize, Hkv, D]. */
export function pagedAttention(
  rt: Runtime,
  q: View,
  kPool: View,
  vPool: View,
  index: View,
  layout: PagedIndexLayout,
  scale: number,
): GpuStorage {
  const [N, Hq, D] = q.shape as [number, number, number];
  const Hkv = kPool.shape[2]!;
  if (D > ATTN_MAX_D) throw new Error(`webgpu.pagedAttention: head dim ${D} > ${ATTN_MAX_D}`);
  const o = rt.alloc('float32', N * Hq * D);
  if (N * Hq === 0) return o;
  const temps: GpuStorage[] = [];
  const [qv, kv, vv, iv] = [q, kPool, vPool, index].map((x) => contiguousInput(rt, x, temps)) as [
    View,
    View,
    View,
    View,
  ];
  const dtype = kv.storage.dtype;
  const p = rt.pipeline(`paged:attn:${D}:${dtype}${halfTag(rt, dtype)}`, () => ATTENTION(rt, D, dtype));
  const params = [
    N * Hq,
    Hq,
    Hq / Hkv,
    Hkv,
    layout.blockSize,
    layout.maxBlocks,
    f32bits(scale),
    qv.offset,
    kv.offset,
    vv.offset,
    iv.offset,
    0,
    D,
    N,
  ];
  const storages = [o, qv.storage, kv.storage, vv.storage, iv.storage] as GpuStorage[];
  rt.dispatch(p, storages, params, Math.ceil((N * Hq) / ROWS_PER_GROUP));
  freeAll(rt, temps);
  return o;
}
