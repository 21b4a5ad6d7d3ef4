/**
 * One entry point for every model format, chosen by name: `*.gguf` (llama.cpp), `*.bin` (llama2.c, `tokenizer.bin`
 * beside it), anything else a Hugging Face directory. Tensors are float32-only in Andes today, so quantized and half
 * weights are dequantized to float32 at load, one tensor at a time.
 *
 * @module
 */
import { type LlamaConfig, llamaConfig } from '@andes/nn';
import type { ChatTemplateName } from '@andes/tokenizer';
import { loadGgufModel, loadGgufModelInfo, readGgufConfig, saveGgufModel } from './gguf-model.js';
import { loadLlama2cModel, loadLlama2cModelInfo, readLlama2cConfig, saveLlama2cModel } from './llama2c-model.js';
import type {
  ExportModelOptions,
  LoadedModel,
  LoadModelInfoOptions,
  LoadModelOptions,
  ModelFormat,
  ModelInfo,
} from './loaded-model.js';
import { loadModelDir, loadModelDirInfo, type ModelDirInfo, type StorageDtype, saveModelDir } from './model-dir.js';
import { roundTripDtype, withConcreteDtype } from './weight-dtype.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');
/** Node's path module, loaded on first use: the main entry stays importable in browsers. */
const nodePath = () => import('node:path');

/** The format a path names: `.gguf` → GGUF, `.bin` → llama2.c, else a Hugging Face directory. */
export function modelFormatOf(path: string): ModelFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.gguf')) return 'gguf';
  if (lower.endsWith('.bin')) return 'llama2c';
  return 'hf';
}

/** A model's config without loading its weights (GGUF header, `.bin` header or `config.json`). */
export async function readModelConfig(path: string): Promise<LlamaConfig> {
  const format = modelFormatOf(path);
  if (format === 'gguf') return readGgufConfig(path);
  if (format === 'llama2c') return readLlama2cConfig(path);
  const file = (await nodePath()).join(path, 'config.json');
  const raw = JSON.parse(await (await nodeFs()).readFile(file, 'utf8')) as LlamaConfig;
  try {
    return llamaConfig(raw);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Loads a model from a GGUF file, a llama2.c `.bin` or a Hugging Face directory, as float32 weights by Hugging Face
 * name with its config and tokenizer. With `dtype`, every matrix is rounded through that storage type (what a model
 * stored as `dtype` computes with).
 *
 * @example
 * const loaded = await loadModel('stories15M.q8_0.gguf');
 * const model = LlamaForCausalLM.fromWeights(loaded.config, loaded); // built empty, filled tensor by tensor
 */
export async function loadModel(path: string, given: LoadModelOptions = {}): Promise<LoadedModel> {
  const format = modelFormatOf(path);
  const options = withConcreteDtype(given);
  if (format === 'gguf') return loadGgufModel(path, options);
  if (format === 'llama2c') return loadLlama2cModel(path, options);
  const dir = await loadModelDir(path, {
    ropeLayout: options.ropeLayout,
    skipTokenizer: options.skipTokenizer,
    halvesAsBlocks: options.dtype === 'keep' && (options.keepHalves ?? true),
  });
  const stored = String(dir.rawConfig.torch_dtype ?? 'float32');
  const storedTypes = new Map<string, string>();
  for (const [name, t] of dir.tensors) {
    if (options.dtype && options.dtype !== 'keep') t.data = roundTripDtype(t.shape, t.data, options.dtype);
    storedTypes.set(name, stored);
  }
  for (const [name, w] of dir.blockWeights ?? []) storedTypes.set(name, w.type);
  const loaded: LoadedModel = { ...infoOfDir(dir), tensors: dir.tensors, storedTypes };
  if (dir.blockWeights) loaded.blockWeights = dir.blockWeights;
  return loaded;
}

/** The {@link ModelInfo} of a Hugging Face directory as read (only the fields it has). */
function infoOfDir(dir: ModelDirInfo): ModelInfo {
  const info: ModelInfo = { format: 'hf', config: dir.config };
  if (dir.tokenizer) info.tokenizer = dir.tokenizer;
  if (dir.chatTemplate) info.chatTemplate = dir.chatTemplate;
  if (dir.generationConfig) info.generationConfig = dir.generationConfig;
  return info;
}

/**
 * What {@link loadModel} returns but the weights — config, tokenizer, chat template, generation config — read from
 * the headers and small files only, no tensor data: for a process that needs to know the model while others load
 * its weights (andes-serve's main thread beside its engine workers).
 *
 * @example
 * const { config, tokenizer } = await loadModelInfo('stories15M.q8_0.gguf');
 */
export async function loadModelInfo(path: string, options: LoadModelInfoOptions = {}): Promise<ModelInfo> {
  const format = modelFormatOf(path);
  if (format === 'gguf') return loadGgufModelInfo(path, options);
  if (format === 'llama2c') return loadLlama2cModelInfo(path, options);
  return infoOfDir(await loadModelDirInfo(path, options));
}

/** Options of {@link saveModel}. */
export interface SaveModelOptions extends ExportModelOptions {
  /** Chat template to name in a Hugging Face directory's `tokenizer_config.json`. */
  chatTemplate?: ChatTemplateName;
}

const hfDtype: Partial<Record<string, StorageDtype>> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

/**
 * Writes a model in the format `path` names (see {@link modelFormatOf}) and returns warnings about what that format
 * could not store. GGUF takes f32/f16/bf16/q8_0/q4_0, llama2.c f32 (legacy v0) or q8_0 (version 2), a Hugging Face
 * directory f32/f16/bf16.
 */
export async function saveModel(path: string, options: SaveModelOptions): Promise<string[]> {
  const format = modelFormatOf(path);
  if (format === 'gguf') {
    await saveGgufModel(path, options);
    return [];
  }
  if (format === 'llama2c') return saveLlama2cModel(path, options);
  const dtype = hfDtype[options.dtype ?? 'f32'];
  if (!dtype)
    throw new Error(`${path}: a Hugging Face directory stores f32, f16 or bf16 weights, not ${options.dtype}`);
  await saveModelDir(path, {
    config: options.config,
    model: options.model,
    stateDict: options.stateDict,
    tokenizer: options.tokenizer,
    chatTemplate: options.chatTemplate,
    dtype,
    ropeLayout: options.ropeLayout,
  });
  return [];
}
