import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type LlamaConfig, llamaConfig, type RopeLayout } from '@andes/nn';
import { writeDirectoryAtomic, writeFileAtomic } from '@andes/tensor/node';
import { type ChatTemplateName, loadTokenizer, type Tokenizer } from '@andes/tokenizer';
import type { HostTensor } from './dtypes.js';
import { float32ArrayToBfloat16, float32ArrayToFloat16 } from './half-precision.js';
import { hostTensorToFloat32, type NamedTensors, toHostTensors } from './host-tensors.js';
import { chatTemplateName, tokenizerConfigJson } from './model-dir-tokenizer-config.js';
import { permuteForHalfRope, permuteForInterleavedRope } from './rope-permutation.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
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
}

/** Options of {@link loadModelDir}. */
export interface LoadModelDirOptions {
  /** Rotary layout the model computes in; `interleaved` un-permutes q/k. Default `half` (as stored). */
  ropeLayout?: RopeLayout;
  /** Skip loading the tokenizer even if present. */
  skipTokenizer?: boolean;
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
  const { config } = options;
  const source = options.stateDict ?? options.model?.stateDict();
  if (!source) throw new Error(`saveModelDir ${dir}: give a model or a stateDict`);
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
  // Built (and the template name checked) before anything is written.
  const tokenizerConfig =
    tokenizerModel || tokenizerJson || options.chatTemplate
      ? tokenizerConfigJson(config.max_position_embeddings, options.tokenizer, options.chatTemplate)
      : undefined;
  const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';
  await writeDirectoryAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    await writeFileAtomic(join(tmp, 'config.json'), json(hfConfigJson(config, dtype)));
    const generation = {
      bos_token_id: config.bos_token_id,
      eos_token_id: config.eos_token_id,
      ...options.generationConfig,
    };
    await writeFileAtomic(join(tmp, 'generation_config.json'), json(generation));
    if (tokenizerModel) await writeFileAtomic(join(tmp, 'tokenizer.model'), tokenizerModel);
    if (tokenizerJson) await writeFileAtomic(join(tmp, 'tokenizer.json'), tokenizerJson);
    if (tokenizerConfig) {
      await writeFileAtomic(join(tmp, 'tokenizer_config.json'), json(tokenizerConfig));
    }
  });
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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
async function weightFiles(dir: string): Promise<string[]> {
  if (await exists(join(dir, 'model.safetensors'))) return [join(dir, 'model.safetensors')];
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (await exists(indexPath)) {
    const index = await readJson(indexPath);
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`loadModelDir: ${indexPath} has no weight_map`);
    return [...new Set(Object.values(map as Record<string, string>))].sort().map((f) => join(dir, f));
  }
  throw new Error(`loadModelDir: ${dir} has neither model.safetensors nor model.safetensors.index.json`);
}

/**
 * Loads a Hugging Face LLaMA model directory (one `model.safetensors` or sharded with an index):
 * config, float32 weights (F16/BF16 decoded), tokenizer and generation config.
 *
 * @example
 * const { config, tensors, tokenizer } = await loadModelDir('runs/default/model');
 * const model = new LlamaForCausalLM(config);
 * model.loadStateDict(tensors);
 */
export async function loadModelDir(dir: string, options: LoadModelDirOptions = {}): Promise<LoadedModelDir> {
  const rawConfig = await readJson(join(dir, 'config.json'));
  const archs = rawConfig.architectures;
  if (rawConfig.model_type !== 'llama' && !(Array.isArray(archs) && archs.includes('LlamaForCausalLM'))) {
    throw new Error(
      `loadModelDir: ${join(dir, 'config.json')} is not a LLaMA config (model_type ${JSON.stringify(rawConfig.model_type)})`,
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
      throw new Error(
        `loadModelDir: ${join(dir, 'config.json')}: ${field} = ${JSON.stringify(rawConfig[field])} is not supported`,
      );
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
    throw new Error(`loadModelDir: ${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const file of await weightFiles(dir)) {
    for (const [name, t] of (await readSafetensors(file)).tensors) {
      if (tensors.has(name)) throw new Error(`loadModelDir: tensor ${name} appears in two shards (${file})`);
      let values: { shape: readonly number[]; data: Float32Array } = {
        shape: t.shape,
        data: hostTensorToFloat32(t, `${file}: ${name}`),
      };
      if (layout === 'interleaved' && qkWeight.test(name))
        values = permuteForInterleavedRope(values, headsFor(name, config));
      tensors.set(name, { shape: [...values.shape], data: values.data });
    }
  }
  const result: LoadedModelDir = { config, tensors, rawConfig };
  if (await exists(join(dir, 'generation_config.json'))) {
    result.generationConfig = (await readJson(join(dir, 'generation_config.json'))) as Record<string, JsonValue>;
  }
  if (await exists(join(dir, 'tokenizer_config.json'))) {
    const template = chatTemplateName(await readJson(join(dir, 'tokenizer_config.json')));
    if (template) result.chatTemplate = template;
  }
  if (!options.skipTokenizer) {
    const file = ['tokenizer.model', 'tokenizer.json'].map((f) => join(dir, f));
    const path = (await exists(file[0]!)) ? file[0] : (await exists(file[1]!)) ? file[1] : undefined;
    if (path) result.tokenizer = await loadTokenizer(path);
  }
  return result;
}
