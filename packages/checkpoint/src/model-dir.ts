import { type LlamaConfig, llamaConfig, type RopeLayout } from '@andes/nn';
import { BlockWeight, float32ArrayToBfloat16, float32ArrayToFloat16 } from '@andes/tensor';
import { type ChatTemplateName, type Tokenizer, tokenizerFromBytes } from '@andes/tokenizer';
import { type HostTensor, tensorBytes } from './dtypes.js';
import { hostTensorToFloat32, type NamedTensors, toHostTensors } from './host-tensors.js';
import { chatTemplateName, tokenizerConfigJson } from './model-dir-tokenizer-config.js';
import type { ModelFileReader } from './model-files.js';
import { permuteForHalfRope, permuteForInterleavedRope } from './rope-permutation.js';
import { decodeSafetensors, encodeSafetensors, writeSafetensors } from './safetensors.js';
import type { JsonValue } from './training-checkpoint.js';

/**
 * Tokenizer serialisers a model directory can use (`@andes/tokenizer` tokenizers provide them), and the BOS / EOS
 * pieces `tokenizer_config.json` names.
 */
export interface SavableTokenizer {
  /** BOS id, named as `bos_token` (default LLaMA's `<s>`); with {@link SavableTokenizer.idToPiece}. */
  readonly bosId?: number;
  /** EOS id, named as `eos_token` (default LLaMA's `</s>`). */
  readonly eosId?: number;
  /** The piece of an id, e.g. `<s>`. */
  idToPiece?(id: number): string;
  /** SentencePiece `tokenizer.model` protobuf bytes. */
  toModelProto?(): Uint8Array;
  /** Hugging Face `tokenizer.json` text. */
  toTokenizerJson?(): string;
}

/** Float type the weights are stored in (`torch_dtype` in config.json). */
export type StorageDtype = 'float32' | 'float16' | 'bfloat16';

/** What {@link saveModelDir} writes. */
export interface SaveModelDirOptions {
  /** The model's configuration (Hugging Face field names). */
  config: LlamaConfig;
  /** A model with `stateDict()` (e.g. `LlamaForCausalLM`); or give `stateDict` directly. */
  model?: { stateDict(): NamedTensors };
  /** Parameters by Hugging Face name: tensors, or host `{ shape, data: Float32Array }`. */
  stateDict?: NamedTensors;
  /** Writes `tokenizer.model` and/or `tokenizer.json` from it. */
  tokenizer?: SavableTokenizer;
  /** Raw `tokenizer.model` bytes to copy as is (e.g. LLaMA 2's). */
  tokenizerModel?: Uint8Array;
  /**
   * Chat template the model was trained with, stored by name as `chat_template` in `tokenizer_config.json` (which is
   * then written even without tokenizer files); andes-serve renders chats with it.
   */
  chatTemplate?: ChatTemplateName;
  /** Extra `generation_config.json` fields (`temperature`, `top_p`, `max_length`, …). */
  generationConfig?: Record<string, JsonValue>;
  /** Storage type of floating-point weights; default `float32`. */
  dtype?: StorageDtype;
  /**
   * Rotary layout the model computes in (default: `config.rope_style`, else `half`). Files always use
   * Hugging Face's half layout, so `interleaved` q/k weights are permuted on save.
   */
  ropeLayout?: RopeLayout;
}

/** A model directory as loaded. */
export interface LoadedModelDir {
  /** Validated config, `rope_style` set to the layout the tensors were returned in. */
  config: LlamaConfig;
  /** Parameters by Hugging Face name as float32 host arrays: pass to `model.loadStateDict`. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The tokenizer, when the directory has `tokenizer.model` or `tokenizer.json`. */
  tokenizer?: Tokenizer;
  /** `generation_config.json`, if present. */
  generationConfig?: Record<string, JsonValue>;
  /** The chat template `tokenizer_config.json` names, if it names one of ours (a Jinja template is not parsed). */
  chatTemplate?: ChatTemplateName;
  /** `config.json` exactly as stored (fields `LlamaConfig` does not know included). */
  rawConfig: Record<string, unknown>;
  /**
   * With `halvesAsBlocks`: the F16 and BF16 matrices as half block weights on the current backend, by Hugging Face
   * name (absent from `tensors`); build the model with `LlamaForCausalLM.fromWeights`, which owns them afterwards.
   */
  blockWeights?: Map<string, BlockWeight>;
}

/** A model directory as {@link loadModelDirInfo} reads it: everything {@link LoadedModelDir} holds but the weights. */
export type ModelDirInfo = Omit<LoadedModelDir, 'tensors' | 'blockWeights'>;

/** Options of {@link loadModelDir}. */
export interface LoadModelDirOptions {
  /** Rotary layout the model computes in; `interleaved` un-permutes q/k. Default `half` (as stored). */
  ropeLayout?: RopeLayout;
  /** Skip loading the tokenizer even if present. */
  skipTokenizer?: boolean;
  /**
   * F16 and BF16 matrices (the linear layers and the embedding table) as half `blockWeights` instead of float32
   * `tensors`: a bf16 LLaMA-7B then holds 13.5 GB, not 27 (`loadModel`'s `dtype: 'keep'`). Q/k matrices of an
   * `interleaved` layout stay float32 (their rows are permuted on the way).
   */
  halvesAsBlocks?: boolean;
}

const torchDtype: Record<StorageDtype, string> = { float32: 'float32', float16: 'float16', bfloat16: 'bfloat16' };
const qkWeight = /\.self_attn\.(q|k)_proj\.weight$/;

function headsFor(name: string, config: LlamaConfig): number {
  return qkWeight.exec(name)![1] === 'q' ? config.num_attention_heads : config.num_key_value_heads;
}

/** The Hugging Face `config.json` object of a config (keys sorted as transformers writes them). */
export function hfConfigJson(config: LlamaConfig, dtype: StorageDtype = 'float32'): Record<string, unknown> {
  const { rope_style: _layout, ...fields } = config;
  const json: Record<string, unknown> = {
    ...fields,
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    torch_dtype: torchDtype[dtype],
    head_dim: config.hidden_size / config.num_attention_heads,
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    pretraining_tp: 1,
    rope_scaling: null,
    use_cache: true,
  };
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Saves a model as Hugging Face lays it out: `model.safetensors` (HF parameter names, half-rotation
 * q/k layout, `format: pt` metadata), `config.json`, `generation_config.json`, and the tokenizer
 * (`tokenizer.model` / `tokenizer.json` + `tokenizer_config.json`). The directory is written under a
 * temporary name and renamed into place, replacing any previous one.
 *
 * @example await saveModelDir('runs/default/model', { config: model.config, model, tokenizer });
 */
export async function saveModelDir(dir: string, options: SaveModelDirOptions): Promise<void> {
  const { tensors, files } = await modelDirParts(options, `saveModelDir ${dir}`);
  // Node's file system is loaded on first use, so the main entry stays importable in browsers.
  const [{ join }, { writeDirectoryAtomic, writeFileAtomic }] = await Promise.all([
    import('node:path'),
    import('@andes/tensor/node'),
  ]);
  await writeDirectoryAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    for (const [name, data] of files) await writeFileAtomic(join(tmp, name), data);
  });
}

/**
 * The files {@link saveModelDir} writes, as bytes in memory (`model.safetensors`, `config.json`, …): for browsers,
 * which zip or download them instead of writing a directory.
 *
 * @example const files = await encodeModelDir({ config: model.config, model, tokenizer }); // Map name → bytes
 */
export async function encodeModelDir(options: SaveModelDirOptions): Promise<Map<string, Uint8Array>> {
  const { tensors, files } = await modelDirParts(options, 'encodeModelDir');
  const out = new Map<string, Uint8Array>([['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })]]);
  for (const [name, data] of files) out.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  return out;
}

/** The weights (in storage layout and dtype) and the small files of a model directory, validated before writing. */
async function modelDirParts(
  options: SaveModelDirOptions,
  where: string,
): Promise<{ tensors: Map<string, HostTensor>; files: Map<string, string | Uint8Array> }> {
  const { config } = options;
  const source = options.stateDict ?? options.model?.stateDict();
  if (!source) throw new Error(`${where}: give a model or a stateDict`);
  const dtype = options.dtype ?? 'float32';
  const layout = options.ropeLayout ?? config.rope_style ?? 'half';
  const host = await toHostTensors(source);
  const tensors = new Map<string, HostTensor>();
  for (const [name, t] of host) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'F64') {
      tensors.set(name, t);
      continue;
    }
    let values: { shape: readonly number[]; data: Float32Array } = {
      shape: t.shape,
      data: hostTensorToFloat32(t, name),
    };
    if (layout === 'interleaved' && qkWeight.test(name)) values = permuteForHalfRope(values, headsFor(name, config));
    const shape = [...values.shape];
    if (dtype === 'float16') tensors.set(name, { dtype: 'F16', shape, data: float32ArrayToFloat16(values.data) });
    else if (dtype === 'bfloat16')
      tensors.set(name, { dtype: 'BF16', shape, data: float32ArrayToBfloat16(values.data) });
    else tensors.set(name, { dtype: 'F32', shape, data: values.data });
  }
  const tokenizerModel = options.tokenizerModel ?? options.tokenizer?.toModelProto?.();
  const tokenizerJson = options.tokenizer?.toTokenizerJson?.();
  const tokenizerConfig =
    tokenizerModel || tokenizerJson || options.chatTemplate
      ? tokenizerConfigJson(config.max_position_embeddings, options.tokenizer, options.chatTemplate)
      : undefined;
  const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';
  const files = new Map<string, string | Uint8Array>();
  files.set('config.json', json(hfConfigJson(config, dtype)));
  files.set(
    'generation_config.json',
    json({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, ...options.generationConfig }),
  );
  if (tokenizerModel) files.set('tokenizer.model', tokenizerModel);
  if (tokenizerJson) files.set('tokenizer.json', tokenizerJson);
  if (tokenizerConfig) files.set('tokenizer_config.json', json(tokenizerConfig));
  return { tensors, files };
}

async function readJson(files: ModelFileReader, file: string): Promise<Record<string, unknown>> {
  const path = files.path(file);
  let text: string;
  try {
    const bytes = await files.read(file);
    if (!bytes) throw new Error('no such file');
    text = new TextDecoder().decode(bytes);
  } catch (e) {
    throw new Error(`loadModelDir: cannot read ${path} (${(e as Error).message})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new Error(`loadModelDir: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** The safetensors files of a directory: `model.safetensors`, or the shards listed by its index. */
async function weightFiles(files: ModelFileReader): Promise<string[]> {
  if (await files.has('model.safetensors')) return ['model.safetensors'];
  if (await files.has('model.safetensors.index.json')) {
    const index = await readJson(files, 'model.safetensors.index.json');
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null) {
      throw new Error(`loadModelDir: ${files.path('model.safetensors.index.json')} has no weight_map`);
    }
    return [...new Set(Object.values(map as Record<string, string>))].sort();
  }
  throw new Error(`loadModelDir: ${files.name} has neither model.safetensors nor model.safetensors.index.json`);
}

/**
 * Loads a Hugging Face LLaMA model directory (one `model.safetensors` or sharded with an index):
 * config, float32 weights (F16/BF16 decoded), tokenizer and generation config. Node only (it reads a path); in a
 * browser use {@link loadModelFiles} over the picked files.
 *
 * @example
 * const loaded = await loadModelDir('runs/default/model');
 * const model = LlamaForCausalLM.fromWeights(loaded.config, loaded); // built empty, filled tensor by tensor
 */
export async function loadModelDir(dir: string, options: LoadModelDirOptions = {}): Promise<LoadedModelDir> {
  // Node's file system is loaded on first use, so the main entry stays importable in browsers.
  const { directoryFiles } = await import('./model-files-node.js');
  return loadModelFiles(directoryFiles(dir), options);
}

/**
 * A Hugging Face LLaMA model directory's config (validated as {@link loadModelDir} does, `rope_style` the layout
 * asked for), tokenizer, chat template and generation config, without reading its weights. Node only.
 *
 * @example const { config, tokenizer } = await loadModelDirInfo('runs/default/model');
 */
export async function loadModelDirInfo(dir: string, options: LoadModelDirOptions = {}): Promise<ModelDirInfo> {
  const { directoryFiles } = await import('./model-files-node.js');
  return loadModelFilesInfo(directoryFiles(dir), options);
}

/** The tensors of one safetensors file of `files`: read part by part where the reader can, else decoded whole. */
async function* shardTensors(files: ModelFileReader, name: string): AsyncIterable<[string, HostTensor]> {
  if (files.tensors) {
    if (!(await files.has(name))) {
      throw new Error(`loadModelDir: ${files.path(name)} is missing (named by the shard index)`);
    }
    yield* files.tensors(name);
    return;
  }
  const bytes = await files.read(name);
  if (!bytes) throw new Error(`loadModelDir: ${files.path(name)} is missing (named by the shard index)`);
  yield* decodeSafetensors(bytes, files.path(name)).tensors;
}

/**
 * {@link loadModelDir} over any {@link ModelFileReader}: files picked or dropped in a browser
 * ({@link modelFilesFromMap}), a zip's entries, or a folder on disk.
 *
 * @example
 * const loaded = await loadModelFiles(modelFilesFromMap('model', new Map([['config.json', configBytes]])));
 */
export async function loadModelFiles(
  files: ModelFileReader,
  options: LoadModelDirOptions = {},
): Promise<LoadedModelDir> {
  const info = await loadModelFilesInfo(files, options);
  const { config } = info;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const blockWeights = new Map<string, BlockWeight>();
  try {
    await readWeights(files, config, options.halvesAsBlocks === true, tensors, blockWeights);
  } catch (e) {
    // Block weights live on the backend (GPU memory): a load that fails part-way gives back the ones made so far.
    for (const w of blockWeights.values()) w.dispose();
    throw e;
  }
  return options.halvesAsBlocks ? { ...info, tensors, blockWeights } : { ...info, tensors };
}

/** Reads every weight of `files` into `tensors` (float32) or, half matrices with `halvesAsBlocks`, `blockWeights`. */
async function readWeights(
  files: ModelFileReader,
  config: LlamaConfig,
  halvesAsBlocks: boolean,
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  blockWeights: Map<string, BlockWeight>,
): Promise<void> {
  const layout = config.rope_style;
  for (const name of await weightFiles(files)) {
    const file = files.path(name);
    for await (const [tensorName, t] of shardTensors(files, name)) {
      if (tensors.has(tensorName) || blockWeights.has(tensorName))
        throw new Error(`loadModelDir: tensor ${tensorName} appears in two shards (${file})`);
      const half = t.dtype === 'F16' || t.dtype === 'BF16';
      if (halvesAsBlocks && half && t.shape.length === 2 && !(layout === 'interleaved' && qkWeight.test(tensorName))) {
        const [rows, cols] = t.shape as [number, number];
        blockWeights.set(tensorName, BlockWeight.fromBytes(t.dtype as 'F16' | 'BF16', [rows, cols], tensorBytes(t)));
        continue;
      }
      let values: { shape: readonly number[]; data: Float32Array } = {
        shape: t.shape,
        data: hostTensorToFloat32(t, `${file}: ${tensorName}`),
      };
      if (layout === 'interleaved' && qkWeight.test(tensorName)) {
        values = permuteForInterleavedRope(values, headsFor(tensorName, config));
      }
      tensors.set(tensorName, { shape: [...values.shape], data: values.data });
    }
  }
}

/**
 * {@link loadModelDirInfo} over any {@link ModelFileReader}: reads `config.json`, `generation_config.json`,
 * `tokenizer_config.json` and the tokenizer, never a safetensors file.
 */
export async function loadModelFilesInfo(
  files: ModelFileReader,
  options: LoadModelDirOptions = {},
): Promise<ModelDirInfo> {
  const rawConfig = await readJson(files, 'config.json');
  const configPath = files.path('config.json');
  const archs = rawConfig.architectures;
  if (rawConfig.model_type !== 'llama' && !(Array.isArray(archs) && archs.includes('LlamaForCausalLM'))) {
    throw new Error(
      `loadModelDir: ${configPath} is not a LLaMA config (model_type ${JSON.stringify(rawConfig.model_type)})`,
    );
  }
  // Fields of newer LLaMA variants this model does not implement: refuse rather than load wrong numbers.
  const unsupported: [string, boolean][] = [
    ['rope_scaling', rawConfig.rope_scaling !== undefined && rawConfig.rope_scaling !== null],
    ['attention_bias', rawConfig.attention_bias === true],
    ['mlp_bias', rawConfig.mlp_bias === true],
    ['hidden_act', rawConfig.hidden_act !== undefined && rawConfig.hidden_act !== 'silu'],
  ];
  for (const [field, bad] of unsupported) {
    if (bad) {
      throw new Error(`loadModelDir: ${configPath}: ${field} = ${JSON.stringify(rawConfig[field])} is not supported`);
    }
  }
  const layout = options.ropeLayout ?? 'half';
  let config: LlamaConfig;
  try {
    config = llamaConfig({
      ...(rawConfig as Partial<LlamaConfig>),
      model_type: 'llama',
      rope_style: layout,
    } as LlamaConfig);
  } catch (e) {
    throw new Error(`loadModelDir: ${configPath}: ${(e as Error).message}`);
  }
  const result: ModelDirInfo = { config, rawConfig };
  if (await files.has('generation_config.json')) {
    result.generationConfig = (await readJson(files, 'generation_config.json')) as Record<string, JsonValue>;
  }
  if (await files.has('tokenizer_config.json')) {
    const template = chatTemplateName(await readJson(files, 'tokenizer_config.json'));
    if (template) result.chatTemplate = template;
  }
  if (!options.skipTokenizer) {
    for (const name of ['tokenizer.model', 'tokenizer.json']) {
      const bytes = await files.read(name);
      if (bytes) {
        result.tokenizer = tokenizerFromBytes(bytes, files.path(name));
        break;
      }
    }
  }
  return result;
}
