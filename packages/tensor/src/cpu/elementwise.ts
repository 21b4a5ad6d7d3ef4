import { type BinaryOp, type DType, isHalf, type Storage, type UnaryOp, type View } from '../backend/backend.js';
import { isContiguous, sizeOf } from '../shape.js';
import { copyHalf, copyIntoHalf } from './half.js';
import { allocCpu, cpuData, forEachRow, markWritten, readView } from './storage.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The scalar function of each unary op. */
export const UNARY_FNS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => Math.max(x, 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  sin: Math.sin,
  cos: Math.cos,
};

/** The scalar function of each binary op (comparisons give 0/1). */
export const BINARY_FNS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

/** out = op(x) elementwise, same dtype as x. */
export function unary(op: UnaryOp, x: View): Storage {
  const src = readView(x);
  const out = allocCpu(x.storage.dtype, src.length);
  const f = UNARY_FNS[op];
  const o = out.data;
  for (let i = 0; i < src.length; i++) o[i] = f(src[i]!);
  return out;
}

/**
 * Walks `views` (all of shape `shape`) in row-major order, calling `inner(bases, count, strides)` per innermost row.
 */
function forEachRowMulti(
  shape: readonly number[],
  views: readonly View[],
  inner: (bases: number[], count: number, strides: number[]) => void,
): void {
  const rank = shape.length;
  const total = sizeOf(shape);
  if (total === 0) return;
  const bases = views.map((v) => v.offset);
  if (rank === 0) {
    inner(
      bases,
      1,
      views.map(() => 0),
    );
    return;
  }
  const count = shape[rank - 1]!;
  const innerStrides = views.map((v) => v.strides[rank - 1]!);
  const rows = total / count;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    inner(bases, count, innerStrides);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      for (let v = 0; v < views.length; v++) bases[v]! += views[v]!.strides[d]!;
      if (idx[d]! < shape[d]!) break;
      for (let v = 0; v < views.length; v++) bases[v]! -= views[v]!.strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** out[outShape] = op(a, b); int32 when both inputs are int32 (int division truncates toward zero), else float32. */
export function binary(op: BinaryOp, a: View, b: View, outShape: readonly number[]): Storage {
  const isInt = a.storage.dtype === 'int32' && b.storage.dtype === 'int32';
  const out = allocCpu(isInt ? 'int32' : 'float32', sizeOf(outShape));
  const o = out.data;
  const A = cpuData(a.storage);
  const B = cpuData(b.storage);
  const f = BINARY_FNS[op];
  if (!isInt && flatBinary(op, a, b, A, B, o)) return out;
  let i = 0;
  forEachRowMulti(outShape, [a, b], (bases, count, strides) => {
    const sa = strides[0]!;
    const sb = strides[1]!;
    let pa = bases[0]!;
    let pb = bases[1]!;
    for (let j = 0; j < count; j++, pa += sa, pb += sb) o[i++] = f(A[pa]!, B[pb]!);
  });
  // Int32Array assignment truncates toward zero, which gives C-like int division.
  return out;
}

/**
 * The common float cases of {@link binary} as flat loops, one per op so each stays monomorphic (the generic path
 * calls a closure per element and walks rows): both operands contiguous over the whole output, or b one value
 * broadcast (a scale or an offset). Same float64 arithmetic on the same float32 inputs, so the same results. Returns
 * false, having written nothing, for any other case.
 */
function flatBinary(
  op: BinaryOp,
  a: View,
  b: View,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  o: Float32Array | Int32Array | Uint16Array,
) {
  if (!(op === 'add' || op === 'sub' || op === 'mul') || !isContiguous(a)) return false;
  const n = o.length;
  const pa = a.offset;
  const pb = b.offset;
  if (isContiguous(b)) {
    if (op === 'add') for (let i = 0; i < n; i++) o[i] = A[pa + i]! + B[pb + i]!;
    else if (op === 'sub') for (let i = 0; i < n; i++) o[i] = A[pa + i]! - B[pb + i]!;
    else for (let i = 0; i < n; i++) o[i] = A[pa + i]! * B[pb + i]!;
    return true;
  }
  if (!b.strides.every((s) => s === 0)) return false;
  const c = B[pb]!;
  if (op === 'add') for (let i = 0; i < n; i++) o[i] = A[pa + i]! + c;
  else if (op === 'sub') for (let i = 0; i < n; i++) o[i] = A[pa + i]! - c;
  else for (let i = 0; i < n; i++) o[i] = A[pa + i]! * c;
  return true;
}

/** out = cond ≠ 0 ? a : b over views already expanded to outShape. */
export function where(cond: View, a: View, b: View, outShape: readonly number[]): Storage {
  const out = allocCpu(a.storage.dtype, sizeOf(outShape));
  const o = out.data;
  const C = cpuData(cond.storage);
  const A = cpuData(a.storage);
  const B = cpuData(b.storage);
  let i = 0;
  forEachRowMulti(outShape, [cond, a, b], (bases, count, strides) => {
    let pc = bases[0]!;
    let pa = bases[1]!;
    let pb = bases[2]!;
    for (let j = 0; j < count; j++, pc += strides[0]!, pa += strides[1]!, pb += strides[2]!) {
      o[i++] = C[pc] !== 0 ? A[pa]! : B[pb]!;
    }
  });
  return out;
}

/** A contiguous copy of x, optionally converted (float → int truncates toward zero). */
export function copy(x: View, dtype?: DType): Storage {
  const target = dtype ?? x.storage.dtype;
  if (isHalf(target) || isHalf(x.storage.dtype)) return copyHalf(x, target);
  const src = readView(x);
  const out = allocCpu(target, src.length);
  if (target === 'int32' && x.storage.dtype === 'float32') {
    for (let i = 0; i < src.length; i++) out.data[i] = Math.trunc(src[i]!);
  } else {
    out.data.set(src);
  }
  return out;
}

/** Writes src's elements into the strided window dst (same shape). */
export function copyInto(dst: View, src: View): void {
  if (isHalf(dst.storage.dtype)) {
    copyIntoHalf(dst, src);
    return;
  }
  // Read the source first so overlapping src/dst storages behave like a copy of the old values (readView copies
  // non-contiguous views already; a contiguous one is a window on the storage itself).
  const read = readView(src);
  const values = src.storage === dst.storage && isContiguous(src) ? read.slice() : read;
  const D = cpuData(dst.storage);
  markWritten(dst.storage);
  if (isContiguous(dst)) {
    D.set(values, dst.offset);
    return;
  }
  let i = 0;
  forEachRow(dst.shape, dst.strides, dst.offset, (base, count, stride) => {
    for (let j = 0; j < count; j++) D[base + j * stride] = values[i++]!;
  });
}
