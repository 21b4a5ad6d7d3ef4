/**
 * The CPU reference backend: plain TypeScript over Float32Array / Int32Array storages. Every other backend is tested
 * against it, so it favours clarity and float64 accumulation over speed, except in matmul, which carries CPU serving:
 * it runs a WebAssembly SIMD tile with float32 lanes (see matmul.ts; `setCpuMatmulKernels('js')` selects the float64
 * JS kernels).
 *
 * @module
 */
import type { Backend, DType, Storage } from '../backend/backend.js';
import { DTYPE_BYTES, isHalf } from '../backend/backend.js';
import { decodeHalf, encodeHalf, halfBits } from '../formats/half-precision.js';
import { philoxFill } from '../random/philox.js';
import { adamw } from './adamw.js';
import { attention, attentionBackward } from './attention.js';
import { blockGather } from './block-gather.js';
import { blockMatmul } from './block-matmul.js';
import { copyRows } from './copy-rows.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { binary, copy, copyInto, unary, where } from './elementwise.js';
import { gather, scatterAdd } from './indexing.js';
import { linearParts, linearPartsInputGrad, linearPartsWeightGrad } from './linear-parts.js';
import { cpuMatmulKernels, matmul } from './matmul.js';
import { pagedAttention, writePagedRows } from './paged-attention.js';
import { reduce } from './reduce.js';
import { addRmsNorm, rmsNorm, rmsNormBackward } from './rms-norm.js';
import { rope } from './rope.js';
import { sampleTokens } from './sample-tokens.js';
import { softmax } from './softmax.js';
import { allocCpu, CpuStorage, cpuData, cpuPooledBytes, cpuStorage, markWritten } from './storage.js';
import { swiglu, swigluBackward } from './swiglu.js';
import { moveWordsToHeap, releaseCpuStorage } from './wasm-heap.js';

/** Creates a CPU backend. Storages are JS typed arrays; `read` returns a copy. */
export function createCpuBackend(): Backend {
  let bytesInUse = 0;
  // This backend's mark on the storages it handed out and has not freed (a field, not a WeakSet: a decode step
  // allocates and frees ~100 storages, and weak collections cost a hash per call and slow every GC).
  const owner = {};
  // Every kernel result passes through `track` so memory() counts it.
  const track = <S extends Storage>(s: S): S => {
    cpuStorage(s).liveIn = owner;
    bytesInUse += s.size * DTYPE_BYTES[s.dtype];
    return s;
  };
  const t2 = <R extends Record<string, Storage>>(r: R): R => {
    for (const key in r) track(r[key]!);
    return r;
  };
  return {
    name: 'cpu',
    alloc: (dtype: DType, size: number) => track(allocCpu(dtype, size)),
    free(storage) {
      if (!(storage instanceof CpuStorage) || storage.liveIn !== owner) {
        throw new Error(`cpu backend: free of a storage that is not live (double free?)`);
      }
      storage.liveIn = null;
      bytesInUse -= storage.size * DTYPE_BYTES[storage.dtype];
      releaseCpuStorage(storage);
    },
    write(storage, data) {
      const s = cpuStorage(storage);
      if (data.length !== s.size) {
        throw new Error(`cpu backend: write of ${data.length} elements into a storage of ${s.size}`);
      }
      s.data.set(isHalf(s.dtype) ? encodeHalf(s.dtype, data) : data);
      markWritten(storage);
    },
    async read(storage) {
      const s = cpuStorage(storage);
      return isHalf(s.dtype) ? decodeHalf(s.dtype, s.data) : cpuData(s).slice();
    },
    flush() {},
    sync: async () => {},
    memory: () => ({ bytesInUse, bytesPooled: cpuPooledBytes() }),
    destroy() {},
    fill(dtype, size, value) {
      const s = allocCpu(dtype, size);
      s.data.fill(isHalf(dtype) ? halfBits(dtype, value) : value);
      return track(s);
    },
    arange(dtype, size, start, step) {
      if (isHalf(dtype)) throw new Error(`arange: dtype ${dtype} is not supported; create float32 and cast with .to()`);
      const s = allocCpu(dtype, size);
      for (let i = 0; i < size; i++) s.data[i] = start + i * step;
      return track(s);
    },
    random(kind, size, seed, offset) {
      const data = philoxFill(kind, new Float32Array(size), seed, offset);
      return track(new CpuStorage('float32', data));
    },
    unary: (op, x) => track(unary(op, x)),
    binary: (op, a, b, outShape) => track(binary(op, a, b, outShape)),
    where: (c, a, b, outShape) => track(where(c, a, b, outShape)),
    copy: (x, dtype) => track(copy(x, dtype)),
    copyInto,
    reduce: (op, x, axes) => track(reduce(op, x, axes)),
    matmul: (a, b, batchShape) => track(matmul(a, b, batchShape)),
    blockMatmul: (x, w, type, n, k) => track(new CpuStorage('float32', blockMatmul(x, w, type, n, k))),
    placeBlockWeight(weight) {
      if (weight instanceof CpuStorage && cpuMatmulKernels() === 'wasm') moveWordsToHeap(weight);
    },
    gather: (table, ids) => track(gather(table, ids)),
    blockGather: (weight, ids, type, _rows, k) => track(blockGather(weight, ids, type, k)),
    scatterAdd: (src, ids, rows) => track(scatterAdd(src, ids, rows)),
    softmax: (x, rows, cols, log) => track(softmax(x, rows, cols, log)),
    crossEntropy: (logits, targets, ignoreIndex) => t2(crossEntropy(logits, targets, ignoreIndex)),
    crossEntropyBackward: (logits, targets, lse, g, ignoreIndex) =>
      track(crossEntropyBackward(logits, targets, lse, g, ignoreIndex)),
    rmsNorm: (x, w, eps) => t2(rmsNorm(x, w, eps)),
    rmsNormBackward: (dy, x, w, rstd) => t2(rmsNormBackward(dy, x, w, rstd)),
    addRmsNorm: (x, residual, w, eps) => t2(addRmsNorm(x, residual, w, eps)),
    swiglu: (gate, up) => track(swiglu(gate, up)),
    swigluBackward: (dy, gate, up) => t2(swigluBackward(dy, gate, up)),
    linearParts: (x, weights, residual) => track(linearParts(x, weights, residual)),
    linearPartsInputGrad: (dys, weights) => track(linearPartsInputGrad(dys, weights)),
    linearPartsWeightGrad: (dys, x) => linearPartsWeightGrad(dys, x).map(track),
    rope: (x, pos, theta, style, inverse) => track(rope(x, pos, theta, style, inverse)),
    attention: (q, k, v, scale, causal) => t2(attention(q, k, v, scale, causal)),
    attentionBackward: (q, k, v, o, dO, lse, scale, causal) =>
      t2(attentionBackward(q, k, v, o, dO, lse, scale, causal)),
    sampleTokens(logits, rows, topLogprobs) {
      const out = sampleTokens(logits, rows, topLogprobs);
      for (const s of [out.ids, out.logprob, out.topIds, out.topLogprobs]) if (s) track(s);
      return out;
    },
    pagedAttention: (q, k, v, index, layout, scale) => track(pagedAttention(q, k, v, index, layout, scale)),
    writePagedRows,
    copyRows,
    adamw,
  };
}
