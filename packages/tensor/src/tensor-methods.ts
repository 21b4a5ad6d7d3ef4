/**
 * The op methods of {@link Tensor} (`x.add(y)`, `x.sum(-1)`, …, and `backward()`), each forwarding to the function of
 * the same name. Kept apart from the class so tensor.ts stays about storage, views and lifetime and imports no op (the
 * ops import it); installed on the prototype when the package entry point loads.
 *
 * @module
 */
import type { DType } from './backend/backend.js';
import { runBackward } from './backward.js';
import { abs } from './ops/abs.js';
import { add } from './ops/add.js';
import { argmax } from './ops/argmax.js';
import { clone } from './ops/clone.js';
import { eq, ge, gt, le, lt, ne } from './ops/compare.js';
import { contiguous } from './ops/contiguous.js';
import { div } from './ops/div.js';
import { exp } from './ops/exp.js';
import { expand } from './ops/expand.js';
import { flatten } from './ops/flatten.js';
import { gelu } from './ops/gelu.js';
import { log } from './ops/log.js';
import { logSoftmax } from './ops/log-softmax.js';
import { logsumexp } from './ops/logsumexp.js';
import { matmul } from './ops/matmul.js';
import { max } from './ops/max.js';
import { maximum } from './ops/maximum.js';
import { mean } from './ops/mean.js';
import { min } from './ops/min.js';
import { minimum } from './ops/minimum.js';
import { mul } from './ops/mul.js';
import { neg } from './ops/neg.js';
import { permute } from './ops/permute.js';
import { pow } from './ops/pow.js';
import { relu } from './ops/relu.js';
import { reshape } from './ops/reshape.js';
import { rsqrt } from './ops/rsqrt.js';
import { sigmoid } from './ops/sigmoid.js';
import { silu } from './ops/silu.js';
import { narrow, slice } from './ops/slice.js';
import { softmax } from './ops/softmax.js';
import { sqrt } from './ops/sqrt.js';
import { square } from './ops/square.js';
import { squeeze } from './ops/squeeze.js';
import { sub } from './ops/sub.js';
import { sum } from './ops/sum.js';
import { tanh } from './ops/tanh.js';
import { toType } from './ops/to-type.js';
import { transpose } from './ops/transpose.js';
import { cos, sin } from './ops/trig.js';
import { unsqueeze } from './ops/unsqueeze.js';
import { type Operand, Tensor } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    /** Backpropagates from this scalar (or with an explicit gradient of this shape) into leaves' `.grad`. */
    backward(grad?: Tensor): void;
    /** Elementwise a + b with broadcasting. */
    add(b: Operand): Tensor;
    /** Elementwise a − b. */
    sub(b: Operand): Tensor;
    /** Elementwise a · b. */
    mul(b: Operand): Tensor;
    /** Elementwise a / b. */
    div(b: Operand): Tensor;
    /** Elementwise a^b. */
    pow(b: Operand): Tensor;
    /** Elementwise max(a, b). */
    maximum(b: Operand): Tensor;
    /** Elementwise min(a, b). */
    minimum(b: Operand): Tensor;
    /** a == b as 0/1. */
    eq(b: Operand): Tensor;
    /** a != b as 0/1. */
    ne(b: Operand): Tensor;
    /** a < b as 0/1. */
    lt(b: Operand): Tensor;
    /** a <= b as 0/1. */
    le(b: Operand): Tensor;
    /** a > b as 0/1. */
    gt(b: Operand): Tensor;
    /** a >= b as 0/1. */
    ge(b: Operand): Tensor;
    /** −x. */
    neg(): Tensor;
    /** e^x. */
    exp(): Tensor;
    /** Natural log. */
    log(): Tensor;
    /** √x. */
    sqrt(): Tensor;
    /** 1/√x. */
    rsqrt(): Tensor;
    /** |x|. */
    abs(): Tensor;
    /** max(x, 0). */
    relu(): Tensor;
    /** x·sigmoid(x). */
    silu(): Tensor;
    /** GELU, tanh approximation. */
    gelu(): Tensor;
    /** tanh(x). */
    tanh(): Tensor;
    /** 1/(1+e^−x). */
    sigmoid(): Tensor;
    /** sin(x), radians. */
    sin(): Tensor;
    /** cos(x), radians. */
    cos(): Tensor;
    /** x². */
    square(): Tensor;
    /** Sum over axes (all by default). */
    sum(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Mean over axes (all by default). */
    mean(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Maximum over axes (all by default). */
    max(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Minimum over axes (all by default). */
    min(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** int32 index of the first maximum along an axis. */
    argmax(axis: number, keepdim?: boolean): Tensor;
    /** log Σ exp over axes. */
    logsumexp(axis: number | readonly number[], keepdim?: boolean): Tensor;
    /** Matrix product (torch.matmul semantics). */
    matmul(b: Tensor): Tensor;
    /** Same elements, new shape (one −1 allowed); a view when contiguous. */
    reshape(shape: readonly number[]): Tensor;
    /** Alias of reshape. */
    view(shape: readonly number[]): Tensor;
    /** Reorders dimensions (a view). */
    permute(dims: readonly number[]): Tensor;
    /** Swaps two dimensions (a view). */
    transpose(a: number, b: number): Tensor;
    /** Elements [start, end) along an axis (a view; negatives count from the end). */
    slice(axis: number, start: number, end?: number): Tensor;
    /** `length` elements from `start` along an axis (a view). */
    narrow(axis: number, start: number, length: number): Tensor;
    /** Broadcasts to a larger shape (a view with stride 0; −1 keeps a size). */
    expand(shape: readonly number[]): Tensor;
    /** Drops size-1 dimensions (one axis, or all). */
    squeeze(axis?: number): Tensor;
    /** Inserts a size-1 dimension. */
    unsqueeze(axis: number): Tensor;
    /** Merges dimensions start..end into one. */
    flatten(start?: number, end?: number): Tensor;
    /** A contiguous tensor with the same values (a view when already contiguous). */
    contiguous(): Tensor;
    /** Softmax along an axis. */
    softmax(axis?: number): Tensor;
    /** Log-softmax along an axis. */
    logSoftmax(axis?: number): Tensor;
    /** Converts to another dtype (float→int truncates toward zero; to a half type rounds to nearest even). */
    toType(dtype: DType): Tensor;
    /** PyTorch's name for {@link Tensor.toType}: `x.to('float16')`. */
    to(dtype: DType): Tensor;
    /** toType('float16'). */
    half(): Tensor;
    /** toType('bfloat16'). */
    bfloat16(): Tensor;
    /** toType('float32'). */
    float(): Tensor;
    /** toType('int32'). */
    int(): Tensor;
    /** A copy with its own storage (gradient flows through). */
    clone(): Tensor;
  }
}

const methods = {
  backward(this: Tensor, grad?: Tensor): void {
    runBackward(this, grad);
  },
  add(this: Tensor, b: Operand): Tensor {
    return add(this, b);
  },
  sub(this: Tensor, b: Operand): Tensor {
    return sub(this, b);
  },
  mul(this: Tensor, b: Operand): Tensor {
    return mul(this, b);
  },
  div(this: Tensor, b: Operand): Tensor {
    return div(this, b);
  },
  pow(this: Tensor, b: Operand): Tensor {
    return pow(this, b);
  },
  maximum(this: Tensor, b: Operand): Tensor {
    return maximum(this, b);
  },
  minimum(this: Tensor, b: Operand): Tensor {
    return minimum(this, b);
  },
  eq(this: Tensor, b: Operand): Tensor {
    return eq(this, b);
  },
  ne(this: Tensor, b: Operand): Tensor {
    return ne(this, b);
  },
  lt(this: Tensor, b: Operand): Tensor {
    return lt(this, b);
  },
  le(this: Tensor, b: Operand): Tensor {
    return le(this, b);
  },
  gt(this: Tensor, b: Operand): Tensor {
    return gt(this, b);
  },
  ge(this: Tensor, b: Operand): Tensor {
    return ge(this, b);
  },
  neg(this: Tensor): Tensor {
    return neg(this);
  },
  exp(this: Tensor): Tensor {
    return exp(this);
  },
  log(this: Tensor): Tensor {
    return log(this);
  },
  sqrt(this: Tensor): Tensor {
    return sqrt(this);
  },
  rsqrt(this: Tensor): Tensor {
    return rsqrt(this);
  },
  abs(this: Tensor): Tensor {
    return abs(this);
  },
  relu(this: Tensor): Tensor {
    return relu(this);
  },
  silu(this: Tensor): Tensor {
    return silu(this);
  },
  gelu(this: Tensor): Tensor {
    return gelu(this);
  },
  tanh(this: Tensor): Tensor {
    return tanh(this);
  },
  sigmoid(this: Tensor): Tensor {
    return sigmoid(this);
  },
  sin(this: Tensor): Tensor {
    return sin(this);
  },
  cos(this: Tensor): Tensor {
    return cos(this);
  },
  square(this: Tensor): Tensor {
    return square(this);
  },
  sum(this: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
    return sum(this, axis, keepdim);
  },
  mean(this: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
    return mean(this, axis, keepdim);
  },
  max(this: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
    return max(this, axis, keepdim);
  },
  min(this: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
    return min(this, axis, keepdim);
  },
  argmax(this: Tensor, axis: number, keepdim = false): Tensor {
    return argmax(this, axis, keepdim);
  },
  logsumexp(this: Tensor, axis: number | readonly number[], keepdim = false): Tensor {
    return logsumexp(this, axis, keepdim);
  },
  matmul(this: Tensor, b: Tensor): Tensor {
    return matmul(this, b);
  },
  reshape(this: Tensor, shape: readonly number[]): Tensor {
    return reshape(this, shape);
  },
  view(this: Tensor, shape: readonly number[]): Tensor {
    return reshape(this, shape);
  },
  permute(this: Tensor, dims: readonly number[]): Tensor {
    return permute(this, dims);
  },
  transpose(this: Tensor, a: number, b: number): Tensor {
    return transpose(this, a, b);
  },
  slice(this: Tensor, axis: number, start: number, end?: number): Tensor {
    return slice(this, axis, start, end);
  },
  narrow(this: Tensor, axis: number, start: number, length: number): Tensor {
    return narrow(this, axis, start, length);
  },
  expand(this: Tensor, shape: readonly number[]): Tensor {
    return expand(this, shape);
  },
  squeeze(this: Tensor, axis?: number): Tensor {
    return squeeze(this, axis);
  },
  unsqueeze(this: Tensor, axis: number): Tensor {
    return unsqueeze(this, axis);
  },
  flatten(this: Tensor, start = 0, end = -1): Tensor {
    return flatten(this, start, end);
  },
  contiguous(this: Tensor): Tensor {
    return contiguous(this);
  },
  softmax(this: Tensor, axis = -1): Tensor {
    return softmax(this, axis);
  },
  logSoftmax(this: Tensor, axis = -1): Tensor {
    return logSoftmax(this, axis);
  },
  toType(this: Tensor, dtype: DType): Tensor {
    return toType(this, dtype);
  },
  to(this: Tensor, dtype: DType): Tensor {
    return toType(this, dtype);
  },
  half(this: Tensor): Tensor {
    return toType(this, 'float16');
  },
  bfloat16(this: Tensor): Tensor {
    return toType(this, 'bfloat16');
  },
  float(this: Tensor): Tensor {
    return toType(this, 'float32');
  },
  int(this: Tensor): Tensor {
    return toType(this, 'int32');
  },
  clone(this: Tensor): Tensor {
    return clone(this);
  },
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
