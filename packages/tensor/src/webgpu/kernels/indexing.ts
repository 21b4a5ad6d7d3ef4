/**
 * Embedding gather and its backward scatter-add. The scatter avoids float atomics and is deterministic: it buckets
 * row indices by id (integer atomics for counts and slots), sorts each bucket, then sums each output element over
 * its bucket in index order — the same order a sequential loop would add in.
 *
 * @module
 */

import type { View } from '../../backend/backend.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { fill } from './elementwise.js';
import { wgslType } from './map.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';

const GATHER = (t: string) => `
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@group(0) @binding(2) var<storage, read> table: array<${t}>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let D = pu(1u);
  let n = i / D;
  let d = i % D;
  out[i] = table[pu(2u) + u32(ids[pu(3u) + n]) * pu(4u) + d * pu(5u)];
}`;

const COUNT = `
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  atomicAdd(&counts[u32(ids[pu(1u) + i])], 1u);
}`;

// Exclusive prefix sum of counts into starts (and a second copy used as slot cursors), one workgroup.
const SCAN = `
@group(0) @binding(1) var<storage, read_write> starts: array<u32>;
@group(0) @binding(2) var<storage, read_write> cursor: array<u32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
var<workgroup> part: array<u32, 128>;
@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) li: u32) {
  let V = pu(0u);
  let chunk = (V + 127u) / 128u;
  let a = min(V, li * chunk);
  let b = min(V, a + chunk);
  var s = 0u;
  for (var v = a; v < b; v++) { s += counts[v]; }
  part[li] = s;
  workgroupBarrier();
  if (li == 0u) {
    var run = 0u;
    for (var k = 0u; k < 128u; k++) { let c = part[k]; part[k] = run; run += c; }
  }
  workgroupBarrier();
  var run = part[li];
  for (var v = a; v < b; v++) { starts[v] = run; cursor[v] = run; run += counts[v]; }
}`;

const PLACE = `
@group(0) @binding(1) var<storage, read_write> cursor: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> list: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let slot = atomicAdd(&cursor[u32(ids[pu(1u) + i])], 1u);
  list[slot] = i;
}`;

// Insertion sort of each bucket, so sums run in index order whatever order the atomics placed them in.
const SORT = `
@group(0) @binding(1) var<storage, read_write> list: array<u32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let a = starts[i];
  let b = a + counts[i];
  for (var j = a + 1u; j < b; j++) {
    let key = list[j];
    var k = j;
    while (k > a && list[k - 1u] > key) { list[k] = list[k - 1u]; k--; }
    list[k] = key;
  }
}`;

const SUM = (t: string) => `
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@group(0) @binding(2) var<storage, read> src: array<${t}>;
@group(0) @binding(3) var<storage, read> list: array<u32>;
@group(0) @binding(4) var<storage, read> starts: array<u32>;
@group(0) @binding(5) var<storage, read> counts: array<u32>;
${ELEMENT_MAIN}
  if (i >= pu(0u)) { return; }
  let D = pu(1u);
  let v = i / D;
  let d = i % D;
  let a = starts[v];
  let b = a + counts[v];
  var acc: ${t} = ${t}(0);
  for (var j = a; j < b; j++) { acc += src[pu(2u) + list[j] * pu(3u) + d * pu(4u)]; }
  out[i] = acc;
}`;

/** Rows of table [V, D] at ids [N] → [N, D]. */
export function gather(rt: Runtime, table: View, ids: View): GpuStorage {
  const D = table.shape[1]!;
  const N = ids.shape.reduce((a, b) => a * b, 1);
  const dtype = table.storage.dtype;
  const out = rt.alloc(dtype, N * D);
  if (N * D === 0) return out;
  const temps: GpuStorage[] = [];
  const iv = contiguousInput(rt, ids, temps);
  const p = rt.pipeline(`gather:${dtype}`, () => GATHER(wgslType(dtype)));
  const params = [N * D, D, table.offset, iv.offset, table.strides[0]!, table.strides[1]!];
  rt.dispatch(p, [out, table.storage, iv.storage] as GpuStorage[], params, Math.ceil((N * D) / 128));
  freeAll(rt, temps);
  return out;
}

/** out [rows, D] with out[ids[n]] += src[n] (zero elsewhere). */
export function scatterAdd(rt: Runtime, src: View, ids: View, rows: number): GpuStorage {
  const D = src.shape[1]!;
  const N = src.shape[0]!;
  const dtype = src.storage.dtype;
  if (N === 0 || rows * D === 0) return fill(rt, dtype, rows * D, 0);
  const temps: GpuStorage[] = [];
  const iv = contiguousInput(rt, ids, temps);
  const counts = fill(rt, 'int32', rows, 0);
  rt.dispatch(
    rt.pipeline('scatter:count', () => COUNT),
    [counts, iv.storage as GpuStorage],
    [N, iv.offset],
    Math.ceil(N / 128),
  );
  const starts = rt.alloc('int32', rows);
  const cursor = rt.alloc('int32', rows);
  rt.dispatch(
    rt.pipeline('scatter:scan', () => SCAN),
    [starts, cursor, counts],
    [rows],
    1,
  );
  const list = rt.alloc('int32', N);
  const place = rt.pipeline('scatter:place', () => PLACE);
  rt.dispatch(place, [cursor, list, iv.storage as GpuStorage], [N, iv.offset], Math.ceil(N / 128));
  rt.dispatch(
    rt.pipeline('scatter:sort', () => SORT),
    [list, starts, counts],
    [rows],
    Math.ceil(rows / 128),
  );
  const out = rt.alloc(dtype, rows * D);
  const sum = rt.pipeline(`scatter:sum:${dtype}`, () => SUM(wgslType(dtype)));
  const params = [rows * D, D, src.offset, src.strides[0]!, src.strides[1]!];
  rt.dispatch(sum, [out, src.storage as GpuStorage, list, starts, counts], params, Math.ceil((rows * D) / 128));
  for (const s of [counts, starts, cursor, list]) rt.free(s);
  freeAll(rt, temps);
  return out;
}
