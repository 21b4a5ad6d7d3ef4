/**
 * Reductions (sum, max, min, argmax) over arbitrary axes. Kept and reduced axes are collapsed separately, so the
 * kernel sees "outputs × reduction length" with strided indexing on both; a workgroup tree-reduces one output when
 * the reduction is long, a thread loops over one output when it is short. A long float sum / max / min over one
 * unit-stride axis goes to the tunable row kernel instead (`row-reduce.ts`).
 *
 * @module
 */

import type { ReduceOp, View } from '../../backend/backend.js';
import { sizeOf } from '../../shape.js';
import { checkRank, collapse } from '../layout.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { wgslType } from './map.js';
import { rowReduce } from './row-reduce.js';

function identity(op: ReduceOp, int: boolean): string {
  if (op === 'sum') return int ? '0' : '0.0';
  const neg = op === 'max' || op === 'argmax';
  if (int) return neg ? '(-2147483647 - 1)' : '2147483647';
  return neg ? '-inf_()' : 'inf_()';
}

/** Reduces `axes` of x away; argmax returns int32 indices of the first maximum. */
export function reduce(rt: Runtime, op: ReduceOp, x: View, axes: readonly number[]): GpuStorage {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((n, d) => {
    if (axes.includes(d)) {
      redShape.push(n);
      redStrides.push(x.strides[d]!);
    } else {
      keptShape.push(n);
      keptStrides.push(x.strides[d]!);
    }
  });
  const outputs = sizeOf(keptShape);
  const length = sizeOf(redShape);
  const int = x.storage.dtype === 'int32';
  const outType = op === 'argmax' ? 'int32' : x.storage.dtype;
  const out = rt.alloc(outType, outputs);
  if (outputs === 0) return out;
  if (length === 0) {
    if (op !== 'sum') throw new Error(`webgpu.reduce: ${op} over an empty axis of [${x.shape.join(', ')}]`);
  }
  const k = collapse(keptShape, [keptStrides]);
  const r = collapse(redShape, [redStrides]);
  checkRank('reduce', k.shape);
  checkRank('reduce', r.shape);
  const wide = length >= 128 && outputs < 32768;
  // A float reduction over one unit-stride axis of back-to-back rows is a row kernel of the tunable rows family.
  const rowsOfX = outputs === 1 || (k.shape.length === 1 && k.strides[0]![0] === length);
  if (wide && !int && op !== 'argmax' && r.shape.length === 1 && r.strides[0]![0] === 1 && rowsOfX) {
    rowReduce(rt, op, x.storage as GpuStorage, x.offset, outputs, length, out);
    return out;
  }
  const key = `reduce:${op}:${x.storage.dtype}:${k.shape.length}:${r.shape.length}:${wide}`;
  const pipeline = rt.pipeline(key, () => reduceCode(op, int, k.shape.length, r.shape.length, wide));
  const params = [outputs, length, x.offset];
  for (let d = 0; d < 6; d++)
    params.push(k.shape[d] ?? 1, k.strides[0]![d] ?? 0, r.shape[d] ?? 1, r.strides[0]![d] ?? 0);
  rt.dispatch(pipeline, [out, x.storage as GpuStorage], params, wide ? outputs : Math.ceil(outputs / 128));
  return out;
}

/** WGSL computing `name` = offset of linear index `idx` over dims (shape at word `shapeAt + 4d`, stride +1). */
function offsetCode(name: string, idx: string, rank: number, shapeAt: number): string {
  const lines = [`  var ${name} = 0u;`, `  var ${name}r = ${idx};`];
  for (let d = rank - 1; d >= 0; d--) {
    const sh = `pu(${shapeAt + 4 * d}u)`;
    const st = `pu(${shapeAt + 4 * d + 1}u)`;
    if (d === 0) lines.push(`  ${name} += ${name}r * ${st};`);
    else lines.push(`  ${name} += (${name}r % ${sh}) * ${st}; ${name}r = ${name}r / ${sh};`);
  }
  return lines.join('\n');
}

function reduceCode(op: ReduceOp, int: boolean, keptRank: number, redRank: number, wide: boolean): string {
  const t = wgslType(int ? 'int32' : 'float32');
  const outT = op === 'argmax' ? 'i32' : t;
  const arg = op === 'argmax';
  const combine =
    op === 'sum'
      ? 'acc = acc + v;'
      : op === 'min'
        ? 'acc = min(acc, v);'
        : op === 'max'
          ? 'acc = max(acc, v);'
          : 'if (v > acc) { acc = v; best = j; }';
  const head = `@group(0) @binding(1) var<storage, read_write> out: array<${outT}>;
@group(0) @binding(2) var<storage, read> x: array<${t}>;`;
  const result = arg ? 'i32(best)' : 'acc';
  if (!wide) {
    return `${head}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = (wid.x + wid.y * nwg.x) * 128u + li;
  if (o >= pu(0u)) { return; }
${offsetCode('ko', 'o', keptRank, 3)}
  let base = pu(2u) + ko;
  var acc: ${t} = ${identity(op, int)};
  var best = 0u;
  for (var j = 0u; j < pu(1u); j++) {
${offsetCode('ro', 'j', redRank, 5)}
    let v = x[base + ro];
    ${combine}
  }
  out[o] = ${result};
}`;
  }
  const merge =
    op === 'sum'
      ? 'sv[li] = sv[li] + sv[li + s];'
      : op === 'min'
        ? 'sv[li] = min(sv[li], sv[li + s]);'
        : op === 'max'
          ? 'sv[li] = max(sv[li], sv[li + s]);'
          : `let a = sv[li]; let b = sv[li + s];
        if (b > a || (b == a && si[li + s] < si[li])) { sv[li] = b; si[li] = si[li + s]; }`;
  return `${head}
var<workgroup> sv: array<${t}, 128>;
var<workgroup> si: array<u32, 128>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= pu(0u)) { return; }
${offsetCode('ko', 'o', keptRank, 3)}
  let base = pu(2u) + ko;
  var acc: ${t} = ${identity(op, int)};
  var best = 0xffffffffu;
  for (var j = li; j < pu(1u); j += 128u) {
${offsetCode('ro', 'j', redRank, 5)}
    let v = x[base + ro];
    ${arg ? 'if (v > acc || best == 0xffffffffu) { acc = v; best = j; }' : combine}
  }
  sv[li] = acc;
  si[li] = best;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (li < s) {
      ${merge}
    }
    workgroupBarrier();
  }
  if (li == 0u) { out[o] = ${arg ? 'i32(si[0])' : 'sv[0]'}; }
}`;
}
