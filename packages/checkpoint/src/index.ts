/**
 * @andes/checkpoint — safetensors, Hugging Face model directories and atomic training checkpoints.
 *
 * @packageDocumentation
 */
// The atomic writers live in `@andes/tensor/node` (their one home); re-exported here for existing callers.
export {
  fsyncDirectory,
  type WriteChunk,
  writeDirectoryAtomic,
  writeFileAtomic,
  writeFileAtomicWith,
} from '@andes/tensor/node';
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
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  applyLoraAdapterDir,
  type LoadedLoraAdapter,
  type LoraAdapterConfig,
  loadLoraAdapter,
  PEFT_PREFIX,
  parsePeftAdapterConfig,
  peftAdapterConfigJson,
  saveLoraAdapter,
} from './lora-adapter.js';
export { type Manifest, manifestFile, readVerifiedFiles, sha256Hex, writeManifest } from './manifest.js';
export {
  hfConfigJson,
  type LoadedModelDir,
  type LoadModelDirOptions,
  loadModelDir,
  type SavableTokenizer,
  type SaveModelDirOptions,
  type StorageDtype,
  saveModelDir,
} from './model-dir.js';
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
export {
  applyRetention,
  type CheckpointInfo,
  checkpointDirName,
  type JsonValue,
  type LoadedTrainingCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  loadLatestTrainingCheckpoint,
  loadTrainingCheckpoint,
  type RetentionOptions,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from './training-checkpoint.js';
