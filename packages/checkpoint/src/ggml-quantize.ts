/**
 * ggml Q8_0/Q4_0 quantization with llama.cpp's reference rounding. Its one home is `@andes/tensor` (block weights
 * are made with it); re-exported here so the format code keeps its imports.
 *
 * @module
 */
export { type GgmlWritableType, quantize } from '@andes/tensor';
