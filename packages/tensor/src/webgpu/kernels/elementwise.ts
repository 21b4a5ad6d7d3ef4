/**
 * Elementwise backend methods (unary, binary, where, copy, copyInto, fill, arange) on the strided map kernel.
 *
 * @module
 */

import { type BinaryOp, type DType, isHalf, type UnaryOp, type View } from '../../backend/backend.js';
import { halfBits } from '../../formats/half-precision.js';
import { sizeOf, stridesOf } from '../../shape.js';
import { f32bits, type GpuStorage, type Runtime, storageBytes } from '../runtime.js';
import { type MapSpec, runMap, wgslType } from './map.js';

const UNARY_F32: Record<UnaryOp, string> = {
  neg: '-x0',
  exp: 'exp(x0)',
  log: 'log(x0)',
  sqrt: 'sqrt(x0)',
  rsqrt: 'inverseSqrt(x0)',
  abs: 'abs(x0)',
  sign: 'sign(x0)',
  square: 'x0 * x0',
  reciprocal: '1.0 / x0',
  relu: 'max(x0, 0.0)',
  silu: 'x0 * sigmoid_(x0)',
  gelu: '0.5 * x0 * (1.0 + tanh_(0.7978845608028654 * (x0 + 0.044715 * x0 * x0 * x0)))',
  tanh: 'tanh_(x0)',
  sigmoid: 'sigmoid_(x0)',
  sin: 'sin(x0)',
  cos: 'cos(x0)',
};

const UNARY_I32: Partial<Record<UnaryOp, string>> = { neg: '-x0', abs: 'abs(x0)', sign: 'sign(x0)', square: 'x0 * x0' };

const CMP: Partial<Record<BinaryOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

function binaryExpr(op: BinaryOp, int: boolean): string {
  const cmp = CMP[op];
  if (cmp) return int ? `select(0, 1, x0 ${cmp} x1)` : `select(0.0, 1.0, x0 ${cmp} x1)`;
  switch (op) {
    case 'add':
      return 'x0 + x1';
    case 'sub':
      return 'x0 - x1';
    case 'mul':
      return 'x0 * x1';
    case 'div':
      return int ? 'select(x0 / x1, 0, x1 == 0)' : 'x0 / x1';
    case 'pow':
      return int ? 'i32(pow_(f32(x0), f32(x1)))' : 'pow_(x0, x1)';
    case 'maximum':
      return 'max(x0, x1)';
    case 'minimum':
      return 'min(x0, x1)';
    default:
      throw new Error(`webgpu.binary: unknown op '${op}'`);
  }
}

/** out = op(x). */
export function unary(rt: Runtime, op: UnaryOp, x: View): GpuStorage {
  const dtype = x.storage.dtype;
  let expr: string | undefined = UNARY_F32[op];
  if (dtype === 'int32') {
    expr = UNARY_I32[op];
    if (!expr) throw new Error(`webgpu.unary: '${op}' is not defined for int32 inputs (shape [${x.shape.join(', ')}])`);
  }
  if (!expr) throw new Error(`webgpu.unary: unknown op '${op}'`);
  const out = rt.alloc(dtype, sizeOf(x.shape));
  runMap(rt, { name: `u.${op}`, inputs: [dtype], out: dtype, expr }, [x], x.shape, out);
  return out;
}

/** out[outShape] = op(a, b); integer arithmetic only when both inputs are int32. */
export function binary(rt: Runtime, op: BinaryOp, a: View, b: View, outShape: readonly number[]): GpuStorage {
  const int = a.storage.dtype === 'int32' && b.storage.dtype === 'int32';
  const t: DType = int ? 'int32' : 'float32';
  const out = rt.alloc(t, sizeOf(outShape));
  runMap(rt, { name: `b.${op}`, inputs: [t, t], out: t, expr: binaryExpr(op, int) }, [a, b], outShape, out);
  return out;
}

/** out = cond != 0 ? a : b. */
export function where(rt: Runtime, cond: View, a: View, b: View, outShape: readonly number[]): GpuStorage {
  const t: DType = a.storage.dtype === 'int32' && b.storage.dtype === 'int32' ? 'int32' : 'float32';
  const c = cond.storage.dtype;
  const zero = c === 'int32' ? '0' : '0.0';
  const spec: MapSpec = { name: 'where', inputs: [c, t, t], out: t, expr: `select(x2, x1, x0 != ${zero})` };
  const out = rt.alloc(t, sizeOf(outShape));
  runMap(rt, spec, [cond, a, b], outShape, out);
  return out;
}

/** A contiguous copy, converting dtype (float → int truncates toward zero). */
export function copy(rt: Runtime, x: View, dtype: DType = x.storage.dtype): GpuStorage {
  const src = x.storage.dtype;
  const out = rt.alloc(dtype, sizeOf(x.shape));
  const expr = src === dtype ? 'x0' : `${wgslType(dtype)}(x0)`;
  runMap(rt, { name: 'copy', inputs: [src], out: dtype, expr }, [x], x.shape, out);
  return out;
}

/** Writes src into the strided window dst. */
export function copyInto(rt: Runtime, dst: View, src: View): void {
  let source = src;
  let temp: GpuStorage | undefined;
  // A buffer cannot be bound read-only and read-write in one dispatch: stage an aliasing source first.
  if (src.storage === dst.storage) {
    temp = copy(rt, src);
    source = { storage: temp, shape: src.shape, strides: stridesOf(src.shape), offset: 0 };
  }
  const d = dst.storage.dtype;
  const expr = source.storage.dtype === d ? 'x0' : `${wgslType(d)}(x0)`;
  runMap(
    rt,
    { name: 'copyInto', inputs: [source.storage.dtype], out: d, expr },
    [source],
    dst.shape,
    dst.storage as GpuStorage,
    {
      strides: dst.strides,
      offset: dst.offset,
    },
  );
  if (temp) rt.free(temp);
}

/** Every element = value (a half value rounded to nearest even on the host, then written as whole words). */
export function fill(rt: Runtime, dtype: DType, size: number, value: number): GpuStorage {
  if (!isHalf(dtype)) return arange(rt, dtype, size, value, 0);
  const out = rt.alloc(dtype, size);
  const bits = halfBits(dtype, value);
  const words = storageBytes(dtype, size) / 4;
  if (words > 0)
    rt.dispatch(arangePipeline(rt, 'int32'), [out], [words, (bits | (bits << 16)) >>> 0, 0], Math.ceil(words / 128));
  return out;
}

/** out[i] = start + i·step. */
export function arange(rt: Runtime, dtype: DType, size: number, start: number, step: number): GpuStorage {
  if (isHalf(dtype)) throw new Error(`arange: dtype ${dtype} is not supported; create float32 and cast with .to()`);
  const out = rt.alloc(dtype, size);
  if (size === 0) return out;
  const int = dtype === 'int32';
  const enc = (x: number) => (int ? x | 0 : f32bits(x)) >>> 0;
  rt.dispatch(arangePipeline(rt, dtype), [out], [size, enc(start), enc(step)], Math.ceil(size / 128));
  return out;
}

function arangePipeline(rt: Runtime, dtype: DType): GPUComputePipeline {
  const int = dtype === 'int32';
  return rt.pipeline(`arange:${dtype}`, () =>
    int
      ? `@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i >= pu(0u)) { return; }
  out[i] = pi(1u) + i32(i) * pi(2u);
}`
      : `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 128u + li;
  if (i >= pu(0u)) { return; }
  out[i] = pf(1u) + f32(i) * pf(2u);
}`,
  );
}
