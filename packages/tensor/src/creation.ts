/**
 * Creating tensors on the current backend: from host data, constants, ranges and the Philox generator.
 *
 * @module
 */
import type { Backend, DType } from './backend/backend.js';
import { getBackend } from './backend/registry.js';
import { add } from './ops/add.js';
import { minimum } from './ops/minimum.js';
import { mul } from './ops/mul.js';
import { toType } from './ops/to-type.js';
import { nextRandom } from './random/generator.js';
import { fmt, sizeOf } from './shape.js';
import { type NestedArray, Tensor } from './tensor.js';
import { tidy } from './tidy.js';

/** Options shared by the creation functions. */
export interface CreateOptions {
  /**
   * Element type; default float32 (int32 for Int32Array data and integer aranges). `tensor`, `full`, `zeros` and
   * `ones` also make float16 / bfloat16 tensors (values rounded to nearest even).
   */
  dtype?: DType;
  /** Make the result a leaf that accumulates gradients (float32 only; `.to()` of such a leaf passes them back). */
  requiresGrad?: boolean;
  /** Explicit Philox seed for random creators (the global generator is left untouched). */
  seed?: number;
}

/** Nested number arrays accepted by {@link tensor}. */
export type TensorData = number | NestedArray | Float32Array | Int32Array | readonly number[];

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function validShape(op: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${op}: shape ${fmt(shape)} must be non-negative integers`);
  }
}

/** Most int32 elements mirrored on the host for id checks (4 MiB). */
const HOST_MIRROR_LIMIT = 1 << 20;

function fromHost(backend: Backend, data: Float32Array | Int32Array, dtype: DType, shape: readonly number[]): Tensor {
  const storage = backend.alloc(dtype, data.length);
  backend.write(storage, data);
  const t = Tensor.fromStorage(storage, backend, shape);
  // Keep small int data (token batches) on the host too, other than on the CPU, so embedding/crossEntropy ids can be
  // range-checked without a readback. Large int tensors (whole tokenised corpora) are not mirrored.
  if (dtype === 'int32' && backend.name !== 'cpu' && data.length <= HOST_MIRROR_LIMIT) {
    t.storageRef.hostInts = data as Int32Array;
  }
  return t;
}

/**
 * A tensor from host data: a number (0-d), nested arrays, or a typed array. `shape` defaults to the nesting (or
 * `[length]` for flat data) and must match the element count.
 */
export function tensor(data: TensorData, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  let inferred: number[];
  let flat: ArrayLike<number>;
  if (typeof data === 'number') {
    inferred = [];
    flat = [data];
  } else if (data instanceof Float32Array || data instanceof Int32Array) {
    inferred = [data.length];
    flat = data;
  } else {
    inferred = [];
    let level: unknown = data;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    flat = (data as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
    if (flat.length !== sizeOf(inferred))
      throw new Error(`tensor: ragged nested array (shape starts ${fmt(inferred)})`);
  }
  const target = shape ?? inferred;
  validShape('tensor', target);
  if (sizeOf(target) !== flat.length) {
    throw new Error(`tensor: ${flat.length} elements do not fit shape ${fmt(target)}`);
  }
  const dtype = opts.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  // Half dtypes: the values become float32 on the host, then the backend rounds them to nearest even.
  const host = dtype === 'int32' ? Int32Array.from(flat) : Float32Array.from(flat);
  return finish(fromHost(getBackend(), host, dtype, target), opts);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  validShape('full', shape);
  const backend = getBackend();
  const dtype = opts.dtype ?? 'float32';
  return finish(Tensor.fromStorage(backend.fill(dtype, sizeOf(shape), value), backend, shape), opts);
}

/** Zeros of `shape`. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

/** Ones of `shape`. */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Zeros with x's shape and dtype (unless overridden). */
export function zerosLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return full(x.shape, 0, { dtype: x.dtype, ...opts });
}

/** Ones with x's shape and dtype (unless overridden). */
export function onesLike(x: Tensor, opts: CreateOptions = {}): Tensor {
  return full(x.shape, 1, { dtype: x.dtype, ...opts });
}

/**
 * [start, start + step, …) up to `end` (exclusive), or [0, 1, …, start) when `end` is omitted (like Python's range).
 * int32 when all arguments are integers, else float32.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const backend = getBackend();
  return finish(Tensor.fromStorage(backend.arange(dtype, n, start, step), backend, [n]), opts);
}

function random(kind: 'uniform' | 'normal', op: string, shape: readonly number[], opts: CreateOptions): Tensor {
  validShape(op, shape);
  if (opts.dtype && opts.dtype !== 'float32') throw new Error(`${op}: dtype must be float32, got ${opts.dtype}`);
  const size = sizeOf(shape);
  const { seed, offset } = nextRandom(size, opts.seed);
  const backend = getBackend();
  return finish(Tensor.fromStorage(backend.random(kind, size, seed, offset), backend, shape), opts);
}

/** Standard normal samples N(0, 1) from the Philox generator (same values on every backend). */
export function randn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return random('normal', 'randn', shape, opts);
}

/** Uniform samples in [0, 1) from the Philox generator (same values on every backend). */
export function rand(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return random('uniform', 'rand', shape, opts);
}

/** Uniform integers in [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: need integers low < high, got [${low}, ${high})`);
  }
  const u = rand(shape, { seed: opts.seed });
  const out = tidy(() => add(minimum(toType(mul(u, high - low), 'int32'), high - low - 1), low));
  u.dispose();
  return out;
}
