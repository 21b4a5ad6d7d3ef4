/**
 * What every model loader returns, whatever the file format: config, float32 weights by Hugging Face name (q/k in
 * the half-rotation layout unless asked otherwise), and the tokenizer when the files hold one.
 *
 * @module
 */

import type { LlamaConfig, RopeLayout } from '@andes/nn';
import type { BlockWeight } from '@andes/tensor';
import type { ChatTemplateName, Tokenizer } from '@andes/tokenizer';
import type { NamedTensors } from './host-tensors.js';
import type { JsonValue } from './training-checkpoint.js';
import type { LoadDtype, WeightDtype } from './weight-dtype.js';

/** A model file format, chosen by name: `*.gguf`, `*.bin` (llama2.c), else a Hugging Face directory. */
export type ModelFormat = 'gguf' | 'llama2c' | 'hf';

/** A model as loaded from any format. */
export interface LoadedModel {
  /** The format it was read from. */
  format: ModelFormat;
  /** Validated config; `rope_style` is the layout the tensors were returned in. */
  config: LlamaConfig;
  /** Parameters by Hugging Face name as float32 host arrays: pass to `model.loadStateDict`. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The tokenizer, when the files hold one. */
  tokenizer?: Tokenizer;
  /** The chat template the files name, if one of ours. */
  chatTemplate?: ChatTemplateName;
  /** `generation_config.json` of a Hugging Face directory. */
  generationConfig?: Record<string, JsonValue>;
  /** Storage type of each tensor in the file (`F32`, `Q4_K`, …), by Hugging Face name. */
  storedTypes: Map<string, string>;
  /**
   * With `dtype: 'keep'`: the linear-layer matrices and the embedding table still in their file
   * format (F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) on the current backend, by Hugging Face name; they are absent from
   * `tensors`. Build the model with `LlamaForCausalLM.fromWeights(config, loaded)` (it owns them afterwards).
   */
  blockWeights?: Map<string, BlockWeight>;
}

/** Options every loader takes. */
export interface LoadModelOptions {
  /**
   * Round every matrix through this storage type at load (e.g. to evaluate a model as q4_0), returned as float32.
   * `keep` keeps the linear-layer matrices and the embedding table in their file type as `blockWeights` instead: a
   * GGUF's half and quantized ones (a Q4_0 model takes ~4.5 bits per weight in memory) and a Hugging Face
   * directory's F16/BF16 ones; llama2.c files load as float32. `auto`: `keep`, with F16/BF16 widened to float32 on
   * the CPU backend (see `loadOptionsOf`). Default: float32 as stored.
   */
  dtype?: LoadDtype;
  /**
   * With `dtype: 'keep'`: whether F16 and BF16 matrices stay halves too (default true; GGUF files and Hugging Face
   * directories alike). False widens them to float32 (exactly) and keeps only the quantized types: on the CPU backend
   * a half product costs 2–3× a float32 one per row, where the quantized ones cost about as much
   * (apps/serve/BENCHMARKS.md).
   */
  keepHalves?: boolean;
  /** Rotary layout the model computes in; `interleaved` keeps Meta's q/k row order. Default `half` (Hugging Face). */
  ropeLayout?: RopeLayout;
  /** Skip the tokenizer even if the files hold one. */
  skipTokenizer?: boolean;
}

/** Options of `loadModelInfo`: what it shares with {@link LoadModelOptions} (it converts no weights). */
export type LoadModelInfoOptions = Pick<LoadModelOptions, 'ropeLayout' | 'skipTokenizer'>;

/**
 * A model's description without its weights (what `loadModelInfo` returns): the same config, tokenizer, chat
 * template and generation config as a full {@link LoadedModel} of the same files.
 */
export type ModelInfo = Pick<LoadedModel, 'format' | 'config' | 'tokenizer' | 'chatTemplate' | 'generationConfig'>;

/** What a model writer takes (GGUF, llama2.c; Hugging Face directories take `saveModelDir`'s options). */
export interface ExportModelOptions {
  /** The model's configuration. */
  config: LlamaConfig;
  /** A model with `stateDict()`, or give `stateDict`. */
  model?: { stateDict(): NamedTensors };
  /** Parameters by Hugging Face name. */
  stateDict?: NamedTensors;
  /** Tokenizer to embed (GGUF) or to write beside the model (llama2.c `tokenizer.bin`). */
  tokenizer?: Tokenizer;
  /** Weight storage type; default `f32`. */
  dtype?: WeightDtype;
  /** Rotary layout the tensors are in (default `config.rope_style`, else `half`). */
  ropeLayout?: RopeLayout;
  /** Model name stored in the file where the format has one (`general.name`). */
  name?: string;
}

/** The parameters of {@link ExportModelOptions}, or an error naming the writer. */
export function exportSource(options: ExportModelOptions, writer: string): NamedTensors {
  const source = options.stateDict ?? options.model?.stateDict();
  if (!source) throw new Error(`${writer}: give a model or a stateDict`);
  return source;
}
