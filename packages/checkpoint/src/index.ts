/**
 * @andes/checkpoint — safetensors, Hugging Face model directories and atomic training checkpoints.
 *
 * The main entry is browser-safe: functions taking a path (`loadModelDir`, `saveModelDir`, `readSafetensors`) load
 * Node's file system on first call; training checkpoints and manifests live in `@andes/checkpoint/node`.
 *
 * @packageDocumentation
 */
export {
  dtypeSize,
  type HostTensor,
  type HostTypedArray,
  isSafetensorsDtype,
  type SafetensorsDtype,
  shapeSize,
  tensorBytes,
  typedView,
} from './dtypes.js';
export {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './half-precision.js';
export {
  hostTensorToFloat32,
  type NamedTensors,
  type SavableTensor,
  type ShapedArray,
  type TensorLike,
  toHostTensors,
} from './host-tensors.js';
export {
  encodeModelDir,
  hfConfigJson,
  type LoadedModelDir,
  type LoadModelDirOptions,
  loadModelDir,
  loadModelFiles,
  type SavableTokenizer,
  type SaveModelDirOptions,
  type StorageDtype,
  saveModelDir,
} from './model-dir.js';
export { type BlobLike, type ModelFileReader, modelFilesFromMap } from './model-files.js';
export { permuteForHalfRope, permuteForInterleavedRope, type RowMatrix } from './rope-permutation.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  type NamedHostTensors,
  type ReadSafetensorsOptions,
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsContents,
  writeSafetensors,
} from './safetensors.js';
export {
  headerLength,
  maxHeaderBytes,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './safetensors-header.js';
// Types only (erased): the training-checkpoint functions themselves are Node-only, in `@andes/checkpoint/node`.
export type {
  CheckpointInfo,
  JsonValue,
  LoadedTrainingCheckpoint,
  RetentionOptions,
  TrainingCheckpoint,
} from './training-checkpoint.js';
