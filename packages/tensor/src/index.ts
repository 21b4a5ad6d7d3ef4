/**
 * `@andes/tensor`: n-dimensional arrays on WebGPU (or a CPU reference backend) with reverse-mode autograd.
 *
 * ```ts
 * import { initBackend, randn, tensor, crossEntropy, tidy } from '@andes/tensor';
 * await initBackend();
 * const w = randn([4, 3], { requiresGrad: true });
 * const loss = tidy(() => crossEntropy(tensor([[1, 2, 3, 4]]).matmul(w), tensor([2], [1], { dtype: 'int32' })));
 * loss.backward();
 * ```
 *
 * @module
 */

export type {
  AdamWHyper,
  Backend,
  BackendMemory,
  BackendName,
  BinaryOp,
  DType,
  HostArray,
  PagedIndexLayout,
  ReduceOp,
  RopeStyle,
  RowRun,
  SampledStorages,
  SamplingRows,
  Storage,
  UnaryOp,
  View,
} from './backend/backend.js';
export { DTYPE_BYTES, type HalfDType, isHalf } from './backend/backend.js';
export { type BackendChoice, getBackend, initBackend, selectBackend, setBackend, sync } from './backend/registry.js';
export { zeroGrad } from './backward.js';
export { checkpoint } from './checkpoint.js';
export { setCpuHelperNice, setCpuHelperSpin, setCpuThreads } from './cpu/cpu-threads.js';
export { createCpuBackend } from './cpu/index.js';
export { type CpuMatmulKernels, setCpuMatmulKernels } from './cpu/matmul.js';
export { setWasmRelaxedSimd } from './cpu/wasm-relaxed-simd.js';
export {
  arange,
  type CreateOptions,
  full,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  type TensorData,
  tensor,
  zeros,
  zerosLike,
} from './creation.js';
export type { WebGpuDeviceOptions } from './webgpu/device.js';

import './tensor-methods.js';

export type { BlockType } from './backend/backend.js';
export { logSumExp, topKIndices } from './cpu/sample-tokens.js';
export { dequantize, dequantizeBlocksInto, kQuantScaleMin } from './formats/ggml-dequantize.js';
export { type GgmlWritableType, quantize } from './formats/ggml-quantize.js';
export {
  type GgmlBlockInfo,
  GgmlType,
  type GgmlTypeName,
  ggmlBlockInfo,
  ggmlByteSize,
  ggmlTypeLabel,
  ggmlTypeName,
} from './formats/ggml-types.js';
export {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './formats/half-precision.js';
export { isGradEnabled, noGrad } from './grad-mode.js';
export { type MemoryInfo, memory } from './memory.js';
export { abs } from './ops/abs.js';
export { adamwStep } from './ops/adamw-step.js';
export { add } from './ops/add.js';
export { addRmsNorm } from './ops/add-rms-norm.js';
export { argmax } from './ops/argmax.js';
export { type AttentionOptions, scaledDotProductAttention } from './ops/attention.js';
export { blockEmbedding } from './ops/block-embedding.js';
export { blockLinear } from './ops/block-linear.js';
export { clone } from './ops/clone.js';
export { eq, ge, gt, le, lt, ne } from './ops/compare.js';
export { concat } from './ops/concat.js';
export { contiguous } from './ops/contiguous.js';
export { copyRows } from './ops/copy-rows.js';
export { type CrossEntropyOptions, crossEntropy } from './ops/cross-entropy.js';
export { div } from './ops/div.js';
export { type DropoutOptions, dropout } from './ops/dropout.js';
export { embedding } from './ops/embedding.js';
export { exp } from './ops/exp.js';
export { expand } from './ops/expand.js';
export { flatten } from './ops/flatten.js';
export { gelu } from './ops/gelu.js';
export { linear } from './ops/linear.js';
export { linearMany, linearResidual, MAX_LINEAR_MANY } from './ops/linear-many.js';
export { log } from './ops/log.js';
export { logSoftmax } from './ops/log-softmax.js';
export { logsumexp } from './ops/logsumexp.js';
export { matmul } from './ops/matmul.js';
export { max } from './ops/max.js';
export { maximum } from './ops/maximum.js';
export { mean } from './ops/mean.js';
export { min } from './ops/min.js';
export { minimum } from './ops/minimum.js';
export { mul } from './ops/mul.js';
export { neg } from './ops/neg.js';
export {
  type PagedKvIndex,
  type PagedKvIndexSpec,
  pagedAttention,
  pagedKvIndex,
  writePagedKv,
} from './ops/paged-attention.js';
export { permute } from './ops/permute.js';
export { pow } from './ops/pow.js';
export { reciprocal } from './ops/reciprocal.js';
export { relu } from './ops/relu.js';
export { reshape } from './ops/reshape.js';
export { rmsNorm } from './ops/rms-norm.js';
export { type RopeOptions, rope } from './ops/rope.js';
export { rsqrt } from './ops/rsqrt.js';
export {
  packSamplingRows,
  type SampledTokens,
  sampleTokenRow,
  sampleTokens,
  type TokenSampling,
} from './ops/sample-tokens.js';
export { sigmoid } from './ops/sigmoid.js';
export { sign } from './ops/sign.js';
export { silu } from './ops/silu.js';
export { narrow, slice } from './ops/slice.js';
export { softmax } from './ops/softmax.js';
export { sqrt } from './ops/sqrt.js';
export { square } from './ops/square.js';
export { squeeze } from './ops/squeeze.js';
export { stack } from './ops/stack.js';
export { sub } from './ops/sub.js';
export { sum } from './ops/sum.js';
export { swiglu } from './ops/swiglu.js';
export { tanh } from './ops/tanh.js';
export { toType } from './ops/to-type.js';
export { transpose } from './ops/transpose.js';
export { cos, sin } from './ops/trig.js';
export { unsqueeze } from './ops/unsqueeze.js';
export { where } from './ops/where.js';
export { BlockWeight, type QuantizableBlockType } from './quant/block-weight.js';
export { setSeed } from './random/generator.js';
export { fnv1a32, mixSeed, SeededRandom, seededUniform } from './random/seeded-random.js';
export type { TapeEdge, TapeNode, TapeRule, TapeTensor } from './tape.js';
export {
  type BackwardRule,
  type Edge,
  type GradNode,
  type NestedArray,
  type Operand,
  type StorageRef,
  Tensor,
} from './tensor.js';
export { keep, type TrackedTensor, tidy } from './tidy.js';
export {
  type AttentionShape,
  type LinearPartsShape,
  type MatmulShape,
  type RowShape,
  type TuneOptions,
  type TuneReport,
  type TuneShape,
  tune,
} from './tune.js';
