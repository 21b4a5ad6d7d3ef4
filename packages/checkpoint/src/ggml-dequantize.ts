/**
 * ggml block dequantization. Its one home is `@andes/tensor` (the block-weight kernels are tested against it);
 * re-exported here so the format code keeps its imports.
 *
 * @module
 */
export { dequantize, kQuantScaleMin } from '@andes/tensor';
