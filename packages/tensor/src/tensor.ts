/**
 * The Tensor: a strided view (shape, strides, offset) on a reference-counted backend storage. Views made by reshape,
 * transpose, slice or expand share the storage; the storage is freed when its last tensor is disposed.
 *
 * @module
 */
import type { Backend, DType, Storage, View } from './backend/backend.js';
import { DTYPE_BYTES } from './backend/backend.js';
import { countBytes, countTensors } from './memory.js';
import { expandStrides, fmt, isContiguous, sizeOf, stridesOf } from './shape.js';
import { releaseNode, type TapeEdge, type TapeNode, type TapeRule, type TapeTensor } from './tape.js';
import { type TrackedTensor, trackTensor } from './tidy.js';

/** One recorded op on the autograd tape (internal): the tape's node over Tensors. */
export type GradNode = TapeNode<Tensor>;

/** Where an input's gradient goes: the input's own node, or the leaf tensor that accumulates it. */
export type Edge = TapeEdge<Tensor>;

/**
 * A backward rule: the gradient of the op's output → one gradient (or null) per input, given the saved tensors and
 * which inputs need a gradient at all. See {@link TapeRule}; the backward pass sums a gradient returned in the
 * output's broadcast shape down to the input's shape.
 */
export type BackwardRule = TapeRule<Tensor>;

/** A storage and the number of live tensors viewing it (internal). */
export interface StorageRef {
  readonly storage: Storage;
  readonly backend: Backend;
  refs: number;
  /** Host copy of int32 data created from host arrays, so ids can be range-checked without a GPU readback. */
  hostInts?: Int32Array;
  /** Bumped by every in-place write (assign, adamwStep), so autograd can tell saved values were overwritten. */
  version: number;
}

/** A second tensor operand or a plain number (broadcast like a 0-d tensor of the first operand's dtype). */
export type Operand = Tensor | number;

/** Nested number arrays, as returned by `tolist()`. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend, with optional gradient tracking. Create tensors with `tensor`, `zeros`,
 * `randn`, …, not with the constructor. Free them with `dispose()`, `tidy`, or `using`.
 */
export class Tensor implements View, TapeTensor<Tensor>, TrackedTensor {
  /** Size of each dimension, e.g. `[batch, seq, dim]`. */
  readonly shape: readonly number[];
  /** Element strides of each dimension (0 on broadcast dimensions). */
  readonly strides: readonly number[];
  /** Element offset of the first element in the storage. */
  readonly offset: number;
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Accumulated gradient of a leaf tensor after `backward()`; owned by this tensor (disposed with it). */
  grad: Tensor | null = null;
  private readonly ref: StorageRef;
  private disposed = false;
  private kept = false;
  private leafRequiresGrad = false;
  private node: GradNode | null = null;

  /** @internal Use the creation functions instead. */
  constructor(ref: StorageRef, shape: readonly number[], strides: readonly number[], offset: number, track = true) {
    this.ref = ref;
    // Own copies, readonly by type. Not Object.freeze: freezing an array costs ~0.25 µs in V8, twice per tensor, and
    // a decode step makes ~500 tensors (measured: 0.3 µs per freeze + copy vs 0.03 µs per copy).
    this.shape = shape.slice();
    this.strides = strides.slice();
    this.offset = offset;
    this.dtype = ref.storage.dtype;
    this.size = sizeOf(shape);
    ref.refs++;
    countTensors(1);
    if (track) trackTensor(this);
    else this.kept = true;
  }

  /** @internal Wraps a fresh, contiguous storage that the new tensor owns. */
  static fromStorage(storage: Storage, backend: Backend, shape: readonly number[]): Tensor {
    if (storage.size !== sizeOf(shape)) {
      throw new Error(`internal: storage of ${storage.size} elements wrapped as shape ${fmt(shape)}`);
    }
    countBytes(storage.size * DTYPE_BYTES[storage.dtype]);
    return new Tensor({ storage, backend, refs: 0, version: 0 }, shape, stridesOf(shape), 0);
  }

  /** The storage this tensor views (View interface for kernels). */
  get storage(): Storage {
    return this.ref.storage;
  }

  /** The backend that owns the storage. */
  get backend(): Backend {
    return this.ref.backend;
  }

  /** @internal Shared storage record (host copies of ids live here). */
  get storageRef(): StorageRef {
    return this.ref;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** True when gradients flow to or through this tensor. */
  get requiresGrad(): boolean {
    return this.leafRequiresGrad || this.node !== null;
  }

  /** True after `dispose()`; any further use throws. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** True when `keep()` exempted this tensor from tidy. */
  get isKept(): boolean {
    return this.kept;
  }

  /** @internal The autograd node that produced this tensor, if recorded. */
  get gradNode(): GradNode | null {
    return this.node;
  }

  /** @internal */
  markKept(): void {
    this.kept = true;
  }

  /** @internal Makes this tensor the output of a recorded node. */
  attachGradNode(node: GradNode): void {
    node.refs++;
    this.node = node;
  }

  /** Throws a clear error when the tensor was disposed. `op` names the operation that tried to use it. */
  assertLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: tensor ${fmt(this.shape)} (${this.dtype}) was used after dispose()`);
  }

  /** Marks a leaf tensor as a parameter whose gradient accumulates in `.grad`. Returns this. */
  requiresGrad_(flag = true): this {
    this.assertLive('requiresGrad_');
    if (this.node) throw new Error(`requiresGrad_: only leaf tensors can change requiresGrad (this one has a graph)`);
    if (flag && this.dtype !== 'float32') throw new Error(`requiresGrad_: only float32 tensors can require grad`);
    this.leafRequiresGrad = flag;
    return this;
  }

  /** @internal A new tensor object on the same storage and view, detached and not tracked by tidy. */
  alias(): Tensor {
    this.assertLive('alias');
    return new Tensor(this.ref, this.shape, this.strides, this.offset, false);
  }

  /** @internal A view of the same storage (tracked by tidy like any new tensor). */
  view_(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.ref, shape, strides, offset);
  }

  /** @internal True when this tensor is the only one on its storage and covers it contiguously. */
  ownsWholeStorage(): boolean {
    return this.ref.refs === 1 && this.isWholeStorage();
  }

  /** @internal True when the view is the storage's elements in row-major order. */
  isWholeStorage(): boolean {
    return this.offset === 0 && this.size === this.ref.storage.size && this.isContiguous();
  }

  /** True when elements are laid out row-major without gaps (size-1 dims may have any stride). */
  isContiguous(): boolean {
    return isContiguous(this);
  }

  /** @internal Sets `.grad` to a tensor this leaf now owns (exempt from tidy). */
  setGradOwned(g: Tensor): void {
    g.markKept();
    this.grad = g;
  }

  /** @internal Ones of this shape, untracked (the seed gradient of backward). */
  onesLikeUntracked(): Tensor {
    const s = this.backend.fill('float32', this.size, 1);
    const t = Tensor.fromStorage(s, this.backend, this.shape);
    t.markKept();
    return t;
  }

  /** Frees this tensor (and its gradient); the storage is freed when no other view uses it. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    countTensors(-1);
    if (--this.ref.refs === 0) {
      this.ref.backend.free(this.ref.storage);
      countBytes(-this.ref.storage.size * DTYPE_BYTES[this.ref.storage.dtype]);
    }
    if (this.node) {
      releaseNode(this.node);
      this.node = null;
    }
    this.grad?.dispose();
    this.grad = null;
  }

  /** A one-line summary, e.g. `Tensor(float32 [2, 3], cpu, requiresGrad)`; values need `data()` (async). */
  toString(): string {
    const flags = [this.requiresGrad ? 'requiresGrad' : '', this.disposed ? 'disposed' : ''].filter(Boolean);
    return `Tensor(${this.dtype} ${fmt(this.shape)}, ${this.ref.backend.name}${flags.map((f) => `, ${f}`).join('')})`;
  }

  /** Node's console.log shows the summary instead of the internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** `using t = …` support: disposes at scope exit. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Reads the elements (row-major) back to the host. */
  async data(): Promise<Float32Array | Int32Array> {
    this.assertLive('data');
    if (this.isWholeStorage()) return this.backend.read(this.ref.storage);
    const tmp = this.backend.copy(this);
    try {
      return await this.backend.read(tmp);
    } finally {
      this.backend.free(tmp);
    }
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor ${fmt(this.shape)} has ${this.size} elements, expected 1`);
    return (await this.data())[0]!;
  }

  /** The elements as nested arrays of shape `shape` (a number for a 0-d tensor). */
  async tolist(): Promise<NestedArray> {
    const flat = Array.from(await this.data());
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.shape.length) return flat[start]!;
      const inner = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * inner));
    };
    return build(0, 0);
  }

  /** A tensor on the same storage without gradient history. */
  detach(): Tensor {
    this.assertLive('detach');
    return new Tensor(this.ref, this.shape, this.strides, this.offset);
  }

  /** Disposes and clears `.grad`. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /**
   * Copies `src`'s values into this tensor in place (broadcasting `src` to this shape); no gradient is recorded. The
   * dtypes must match, except that a float32 `src` may fill a float16 / bfloat16 tensor (rounded to nearest even).
   * Every view sharing the storage sees the new values.
   */
  assign(src: Tensor): this {
    this.assertLive('assign');
    src.assertLive('assign');
    if (src.backend !== this.backend)
      throw new Error(`assign: source is on '${src.backend.name}', target on '${this.backend.name}'`);
    // A float32 source may fill a half target (rounded to nearest even): how a float16 KV cache is written.
    const rounds = src.dtype === 'float32' && (this.dtype === 'float16' || this.dtype === 'bfloat16');
    if (src.dtype !== this.dtype && !rounds)
      throw new Error(
        `assign: dtype mismatch, target ${this.dtype} ${fmt(this.shape)}, source ${src.dtype} ${fmt(src.shape)}`,
      );
    const strides = expandStrides('assign', src.shape, src.strides, this.shape);
    this.backend.copyInto(this, { storage: src.storage, shape: this.shape, strides, offset: src.offset });
    // The host copy of int data (for id range checks) is stale now, and so is anything autograd saved of it.
    this.ref.hostInts = undefined;
    this.ref.version++;
    return this;
  }
}
