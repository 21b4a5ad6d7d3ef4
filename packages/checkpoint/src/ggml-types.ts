/**
 * ggml type ids and block geometry. Their one home is `@andes/tensor` (its block-quantized weights use them);
 * re-exported here so the format code keeps its imports.
 *
 * @module
 */
export {
  type GgmlBlockInfo,
  GgmlType,
  type GgmlTypeName,
  ggmlBlockInfo,
  ggmlByteSize,
  ggmlTypeLabel,
  ggmlTypeName,
} from '@andes/tensor';
