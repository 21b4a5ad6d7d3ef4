/**
 * The WebGPU implementation of the {@link Backend} contract: a thin dispatcher over the kernel files.
 *
 * @module
 */

import type {
  AdamWHyper,
  Backend,
  BackendMemory,
  BinaryOp,
  BlockType,
  DType,
  PagedIndexLayout,
  ReduceOp,
  RopeStyle,
  RowRun,
  SampledStorages,
  SamplingRows,
  Storage,
  UnaryOp,
  View,
} from '../backend/backend.js';
import { packBlockWords, unpackBlockWords } from './block-layout.js';
import { adamw } from './kernels/adamw.js';
import { attention } from './kernels/attention.js';
import { attentionBackward } from './kernels/attention-backward.js';
import { blockGather } from './kernels/block-gather.js';
import { blockMatmul } from './kernels/block-matmul.js';
import { copyRows } from './kernels/copy-rows.js';
import { crossEntropy, crossEntropyBackward } from './kernels/cross-entropy.js';
import * as ew from './kernels/elementwise.js';
import { gather, scatterAdd } from './kernels/indexing.js';
import { matmul } from './kernels/matmul.js';
import { linearParts, linearPartsInputGrad, linearPartsWeightGrad } from './kernels/matmul-parts.js';
import { pagedAttention, writePagedRows } from './kernels/paged-attention.js';
import { random } from './kernels/random.js';
import { reduce } from './kernels/reduce.js';
import { addRmsNorm, rmsNorm, rmsNormBackward } from './kernels/rms-norm.js';
import { rope } from './kernels/rope.js';
import { sampleTokens } from './kernels/sample-tokens.js';
import { softmax } from './kernels/softmax.js';
import { swiglu, swigluBackward } from './kernels/swiglu.js';
import { GpuStorage, type Runtime } from './runtime.js';

function own(s: Storage, op: string): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new Error(`webgpu.${op}: storage belongs to the '${s.backend}' backend`);
  return s;
}

/** WebGPU backend. Construct through `createWebGpuBackend()`. */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;

  constructor(
    /** The execution layer (device, encoder, pool, pipeline cache). */
    readonly rt: Runtime,
  ) {}

  alloc(dtype: DType, size: number): Storage {
    return this.rt.alloc(dtype, size);
  }
  free(storage: Storage): void {
    this.rt.free(own(storage, 'free'));
  }
  write(storage: Storage, data: Float32Array | Int32Array): void {
    this.rt.write(own(storage, 'write'), data);
  }
  read(storage: Storage): Promise<Float32Array | Int32Array> {
    return this.rt.read(own(storage, 'read'));
  }
  flush(): void {
    this.rt.check('flush');
    this.rt.submit();
  }
  sync(): Promise<void> {
    return this.rt.sync();
  }
  memory(): BackendMemory {
    return { bytesInUse: this.rt.pool.bytesInUse, bytesPooled: this.rt.pool.bytesPooled };
  }
  destroy(): void {
    this.rt.destroy();
  }

  fill(dtype: DType, size: number, value: number): Storage {
    return ew.fill(this.rt, dtype, size, value);
  }
  arange(dtype: DType, size: number, start: number, step: number): Storage {
    return ew.arange(this.rt, dtype, size, start, step);
  }
  random(kind: 'uniform' | 'normal', size: number, seed: number, offset: number): Storage {
    return random(this.rt, kind, size, seed, offset);
  }

  unary(op: UnaryOp, x: View): Storage {
    return ew.unary(this.rt, op, x);
  }
  binary(op: BinaryOp, a: View, b: View, outShape: readonly number[]): Storage {
    return ew.binary(this.rt, op, a, b, outShape);
  }
  where(cond: View, a: View, b: View, outShape: readonly number[]): Storage {
    return ew.where(this.rt, cond, a, b, outShape);
  }
  copy(x: View, dtype?: DType): Storage {
    return ew.copy(this.rt, x, dtype);
  }
  copyInto(dst: View, src: View): void {
    ew.copyInto(this.rt, dst, src);
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    return reduce(this.rt, op, x, axes);
  }
  matmul(a: View, b: View, batchShape: readonly number[]): Storage {
    return matmul(this.rt, a, b, batchShape);
  }
  blockMatmul(x: View, weight: Storage, type: BlockType, n: number, k: number): Storage {
    return blockMatmul(this.rt, x, weight as GpuStorage, type, n, k);
  }
  packBlockWeight(type: BlockType, n: number, k: number, bytes: Uint8Array): Storage {
    const words = packBlockWords(type, n, k, bytes);
    const s = this.rt.alloc('int32', words.length);
    this.rt.write(s, words);
    return s;
  }
  async unpackBlockWeight(weight: Storage, type: BlockType, n: number, k: number): Promise<Uint8Array> {
    return unpackBlockWords(type, n, k, (await this.rt.read(own(weight, 'unpackBlockWeight'))) as Int32Array);
  }
  gather(table: View, ids: View): Storage {
    return gather(this.rt, table, ids);
  }
  blockGather(weight: Storage, ids: View, type: BlockType, rows: number, k: number): Storage {
    return blockGather(this.rt, weight as GpuStorage, ids, type, rows, k);
  }
  scatterAdd(src: View, ids: View, rows: number): Storage {
    return scatterAdd(this.rt, src, ids, rows);
  }
  softmax(x: View, rows: number, cols: number, log: boolean): Storage {
    return softmax(this.rt, x, rows, cols, log);
  }
  crossEntropy(logits: View, targets: View, ignoreIndex: number): { loss: Storage; lse: Storage } {
    return crossEntropy(this.rt, logits, targets, ignoreIndex);
  }
  crossEntropyBackward(logits: View, targets: View, lse: View, gradLoss: View, ignoreIndex: number): Storage {
    return crossEntropyBackward(this.rt, logits, targets, lse, gradLoss, ignoreIndex);
  }
  rmsNorm(x: View, weight: View, eps: number): { y: Storage; rstd: Storage } {
    return rmsNorm(this.rt, x, weight, eps);
  }
  rmsNormBackward(dy: View, x: View, weight: View, rstd: View): { dx: Storage; dweight: Storage } {
    return rmsNormBackward(this.rt, dy, x, weight, rstd);
  }
  addRmsNorm(x: View, residual: View, weight: View, eps: number): { sum: Storage; y: Storage; rstd: Storage } {
    return addRmsNorm(this.rt, x, residual, weight, eps);
  }
  swiglu(gate: View, up: View): Storage {
    return swiglu(this.rt, gate, up);
  }
  swigluBackward(dy: View, gate: View, up: View): { dgate: Storage; dup: Storage } {
    return swigluBackward(this.rt, dy, gate, up);
  }
  linearParts(x: View, weights: readonly View[], residual: View | null): Storage {
    return linearParts(this.rt, x, weights, residual);
  }
  linearPartsInputGrad(dys: readonly View[], weights: readonly View[]): Storage {
    return linearPartsInputGrad(this.rt, dys, weights);
  }
  linearPartsWeightGrad(dys: readonly View[], x: View): Storage[] {
    return linearPartsWeightGrad(this.rt, dys, x);
  }
  rope(x: View, positions: View, theta: number, style: RopeStyle, inverse: boolean): Storage {
    return rope(this.rt, x, positions, theta, style, inverse);
  }
  attention(q: View, k: View, v: View, scale: number, causal: boolean): { o: Storage; lse: Storage } {
    return attention(this.rt, q, k, v, scale, causal);
  }
  attentionBackward(
    q: View,
    k: View,
    v: View,
    o: View,
    dO: View,
    lse: View,
    scale: number,
    causal: boolean,
  ): { dq: Storage; dk: Storage; dv: Storage } {
    return attentionBackward(this.rt, q, k, v, o, dO, lse, scale, causal);
  }
  sampleTokens(logits: View, rows: SamplingRows, topLogprobs: number): SampledStorages {
    return sampleTokens(this.rt, logits, rows, topLogprobs);
  }
  pagedAttention(q: View, kPool: View, vPool: View, index: View, layout: PagedIndexLayout, scale: number): Storage {
    return pagedAttention(this.rt, q, kPool, vPool, index, layout, scale);
  }
  writePagedRows(pool: Storage, src: View, index: View, layout: PagedIndexLayout): void {
    writePagedRows(this.rt, own(pool, 'writePagedRows'), src, index, layout);
  }
  copyRows(pool: Storage, width: number, runs: readonly RowRun[]): void {
    copyRows(this.rt, own(pool, 'copyRows'), width, runs);
  }
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, hyper: AdamWHyper, gradScale?: Storage): void {
    adamw(
      this.rt,
      own(param, 'adamw'),
      own(grad, 'adamw'),
      own(m, 'adamw'),
      own(v, 'adamw'),
      hyper,
      gradScale ? own(gradScale, 'adamw') : undefined,
    );
  }
}
