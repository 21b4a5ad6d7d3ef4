/**
 * Float16 / bfloat16 bit conversions. Their one home is `@andes/tensor` (its float16/bfloat16 weights use them);
 * re-exported here so the format code keeps its imports.
 *
 * @module
 */
export {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '@andes/tensor';
