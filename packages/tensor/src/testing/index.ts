/**
 * Test helpers for `@andes/tensor` and packages built on it (import from `@andes/tensor/testing`; needs vitest):
 * run a suite on every backend, the one WebGPU probe every test file decides through, float64 reference arrays, and
 * forward / finite-difference checks of an op.
 *
 * @module
 */

export { expectBackward, expectForward, type InputSpec, type OpCheck } from './check-op.js';
export { describeBackends, describeWebGpu } from './describe-backends.js';
export {
  broadcastAt,
  broadcastShape,
  type InputKind,
  makeRng,
  type Ref,
  randomRef,
  ravel,
  refMap,
  refMatmul,
  refReduce,
  refSize,
  unravel,
  worstMismatch,
} from './reference.js';
export { webgpuPlan, webgpuRequired, webgpuStatus } from './webgpu-probe.js';
