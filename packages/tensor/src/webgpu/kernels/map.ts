/**
 * The generic strided map kernel: out[i] = f(in0[…], in1[…], …) over a collapsed index space of rank ≤ 6.
 * Shapes, strides and offsets are uniforms, so one pipeline serves every size of a given (op, dtypes, rank).
 *
 * @module
 */

import { type DType, isHalf, type View } from '../../backend/backend.js';
import { sizeOf, stridesOf } from '../../shape.js';
import { checkRank, collapse } from '../layout.js';
import { type GpuStorage, type Runtime, UNIFORM_WORDS } from '../runtime.js';
import { HALF_CODEC, halfArray, halfEnable, halfLoad, halfStoreFn, halfTag } from './half-code.js';

/** WGSL scalar type a dtype computes in (half types compute in f32; their storage is in half-code.ts). */
export function wgslType(d: DType): string {
  return d === 'int32' ? 'i32' : 'f32';
}

/** Helper WGSL functions any map expression may call. */
export const MATH_HELPERS = /* wgsl */ `
fn tanh_(x: f32) -> f32 { return select(tanh(x), sign(x), abs(x) > 15.0); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  let odd = floor(b) == b && abs(b) % 2.0 == 1.0;
  if (a == 0.0) {
    let z = select(0.0, inf_(), b < 0.0);
    return select(z, -z, odd && (bitcast<u32>(a) >> 31u) == 1u);
  }
  let r = exp2(b * log2(abs(a)));
  if (a < 0.0) {
    if (floor(b) != b) { return nan_(); }
    return select(r, -r, odd);
  }
  return r;
}
`;

/** What a map kernel computes. */
export interface MapSpec {
  /** Cache key of the expression (op name). */
  name: string;
  /** Element types the kernel reads each input as (loads convert when the storage's dtype differs). */
  inputs: readonly DType[];
  out: DType;
  /** WGSL expression of x0, x1, … (already converted to `inputs` types) giving the output type. */
  expr: string;
}

/** Runs a map kernel into `out` (contiguous over `shape`, or the strided window `outView` when given). */
export function runMap(
  rt: Runtime,
  spec: MapSpec,
  inputs: readonly View[],
  shape: readonly number[],
  out: GpuStorage,
  outView?: { strides: readonly number[]; offset: number },
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const strided = outView !== undefined;
  const all = inputs.map((v) => v.strides);
  if (strided) all.unshift(outView.strides);
  else all.unshift(stridesOf(shape));
  const c = collapse(shape, all);
  checkRank(spec.name, c.shape);
  const rank = c.shape.length;
  const storageTypes = inputs.map((v) => v.storage.dtype);
  const tags = [out.dtype, ...storageTypes].map((d) => halfTag(rt, d)).join('');
  const key = `map:${spec.name}:${spec.inputs.join(',')}:${storageTypes.join(',')}:${spec.out}:${rank}:${tags}`;
  const pipeline = rt.pipeline(key, () => mapCode(rt, spec, storageTypes, rank));
  const params: number[] = [n];
  for (let d = 0; d < 6; d++) params.push(c.shape[d] ?? 1);
  const offsets = [strided ? outView.offset : 0, ...inputs.map((v) => v.offset)];
  for (let j = 0; j < c.strides.length; j++) {
    params.push(offsets[j]!);
    for (let d = 0; d < 6; d++) params.push(c.strides[j]![d] ?? 0);
  }
  if (params.length > UNIFORM_WORDS) throw new Error(`webgpu.${spec.name}: too many operands for one map kernel`);
  rt.dispatch(pipeline, [out, ...inputs.map((v) => v.storage as GpuStorage)], params, Math.ceil(n / 128));
}

function mapCode(rt: Runtime, spec: MapSpec, storageTypes: readonly DType[], rank: number): string {
  const operands = spec.inputs.length + 1;
  const halves = [spec.out, ...storageTypes].some(isHalf);
  const lines: string[] = [halfEnable(rt, [spec.out, ...storageTypes]), MATH_HELPERS, halves ? HALF_CODEC : ''];
  const outArray = isHalf(spec.out) ? halfArray(rt, spec.out, true) : `array<${wgslType(spec.out)}>`;
  lines.push(`@group(0) @binding(1) var<storage, read_write> out: ${outArray};`);
  if (isHalf(spec.out)) lines.push(halfStoreFn(rt, spec.out, 'out', 'store_out'));
  storageTypes.forEach((d, j) => {
    const array = isHalf(d) ? halfArray(rt, d, false) : `array<${wgslType(d)}>`;
    lines.push(`@group(0) @binding(${j + 2}) var<storage, read> in${j}: ${array};`);
  });
  lines.push(`@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i >= pu(0u)) { return; }
  var rem = i;`);
  for (let j = 0; j < operands; j++) lines.push(`  var o${j} = pu(${7 + j * 7}u);`);
  for (let d = rank - 1; d >= 0; d--) {
    if (d === 0) lines.push('  let c0 = rem;');
    else lines.push(`  let c${d} = rem % pu(${1 + d}u); rem = rem / pu(${1 + d}u);`);
    for (let j = 0; j < operands; j++) lines.push(`  o${j} += c${d} * pu(${8 + j * 7 + d}u);`);
  }
  spec.inputs.forEach((t, j) => {
    const d = storageTypes[j]!;
    const load = isHalf(d) ? halfLoad(rt, d, `in${j}`, `o${j + 1}`) : `in${j}[o${j + 1}]`;
    lines.push(`  let x${j} = ${wgslType(t) === wgslType(d) ? load : `${wgslType(t)}(${load})`};`);
  });
  if (isHalf(spec.out)) lines.push(`  store_out(o0, f32(${spec.expr}));\n}`);
  else lines.push(`  out[o0] = ${spec.expr};\n}`);
  return lines.join('\n');
}
