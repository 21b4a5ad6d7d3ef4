/**
 * @andes/checkpoint — safetensors, Hugging Face model directories and atomic training checkpoints.
 *
 * The main entry is browser-safe: functions taking a path (`loadModelDir`, `saveModelDir`, `readSafetensors`,
 * `loadModel`, `loadGgufModel`, `loadLlama2cModel`, `saveLoraAdapter`, `convertModel`, …) load Node's file system on
 * first call; training checkpoints, manifests and the atomic writers live in `@andes/checkpoint/node`.
 *
 * @packageDocumentation
 */

export {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  dequantize,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  type GgmlBlockInfo,
  GgmlType,
  type GgmlTypeName,
  type GgmlWritableType,
  ggmlBlockInfo,
  ggmlByteSize,
  ggmlTypeLabel,
  ggmlTypeName,
  kQuantScaleMin,
  quantize,
} from '@andes/tensor';
export { type ConvertOptions, type ConvertReport, convertModel, verifyConversion } from './convert-model.js';
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
  GGUF_DEFAULT_ALIGNMENT,
  type GgufByteSource,
  GgufFile,
  type GgufHeader,
  type GgufTensorInfo,
  parseGgufHeader,
} from './gguf-file.js';
export { ggufTensorName, hfTensorName, llamaConfigFromGguf, llamaMetadata } from './gguf-llama.js';
export {
  ByteCursor,
  ByteWriter,
  type GgufArray,
  type GgufArrayItem,
  type GgufNumberType,
  type GgufValue,
  GgufValueType,
  type GgufValueTypeName,
  OutOfBytesError,
} from './gguf-metadata.js';
export {
  ggufFileType,
  loadGgufModel,
  loadGgufModelBytes,
  loadGgufModelInfo,
  readGgufConfig,
  saveGgufModel,
} from './gguf-model.js';
export { ggufTokenizerMetadata, tokenizerFromGguf } from './gguf-tokenizer.js';
export { type GgufTensorSource, type WriteGgufOptions, writeGguf } from './gguf-writer.js';
export {
  hostTensorToFloat32,
  type NamedTensors,
  type SavableTensor,
  type ShapedArray,
  type TensorLike,
  toHostTensors,
} from './host-tensors.js';
export {
  LLAMA2C_HEADER_BYTES,
  LLAMA2C_MAGIC,
  type Llama2cSlot,
  llama2cOffsets,
  llama2cSlots,
} from './llama2c-layout.js';
export {
  LLAMA2C_RMS_EPS,
  type LoadLlama2cOptions,
  loadLlama2cModel,
  loadLlama2cModelBytes,
  loadLlama2cModelInfo,
  readLlama2cConfig,
  type SaveLlama2cOptions,
  saveLlama2cModel,
} from './llama2c-model.js';
export { decodeTokenizerBin, encodeTokenizerBin, readTokenizerBin, writeTokenizerBin } from './llama2c-tokenizer.js';
export {
  loadModel,
  loadModelInfo,
  modelFormatOf,
  readModelConfig,
  type SaveModelOptions,
  saveModel,
} from './load-model.js';
export {
  type ExportModelOptions,
  exportSource,
  type LoadedModel,
  type LoadModelInfoOptions,
  type LoadModelOptions,
  type ModelFormat,
  type ModelInfo,
} from './loaded-model.js';
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
export {
  encodeModelDir,
  hfConfigJson,
  type LoadedModelDir,
  type LoadModelDirOptions,
  loadModelDir,
  loadModelDirInfo,
  loadModelFiles,
  loadModelFilesInfo,
  type ModelDirInfo,
  type SavableTokenizer,
  type SaveModelDirOptions,
  type StorageDtype,
  saveModelDir,
} from './model-dir.js';
export { type BlobLike, type ModelFileReader, modelFilesFromMap } from './model-files.js';
export {
  kvCacheBytes,
  MEMORY_DTYPES,
  type MemoryDtype,
  type ModelMemory,
  modelMemoryTable,
  weightBytes,
} from './model-memory.js';
export { type RandomGgufOptions, saveRandomGgufModel } from './random-llama-gguf.js';
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
export {
  ggmlTypeFor,
  isLoadDtype,
  isWeightDtype,
  type LoadDtype,
  loadOptionsOf,
  roundTripDtype,
  WEIGHT_DTYPES,
  type WeightDtype,
} from './weight-dtype.js';
