/**
 * `@andes/nn`: modules with Hugging Face parameter names, transformer layers, `LlamaConfig` and its presets,
 * `LlamaForCausalLM`, a slot-based `KvCache` and cached generation.
 *
 * @module
 */

export {
  type AttentionCacheSlot,
  type DecodeStep,
  decodeStep,
  LlamaAttention,
  type LlamaAttentionInit,
  type PagedStep,
} from './attention.js';
export { useBlockWeights } from './block-weights.js';
export {
  headDim,
  type LlamaConfig,
  type LlamaConfigInput,
  llamaConfig,
  type RopeLayout,
  swigluHiddenSize,
  validateLlamaConfig,
} from './config.js';
export { countParameters, type ParameterCount } from './count-parameters.js';
export { type DecoderLayerInit, LlamaDecoderLayer } from './decoder-layer.js';
export { Embedding } from './embedding.js';
export { LlamaMLP, type LlamaMLPOptions } from './feed-forward.js';
export { type GenerateOptions, generate, generateIds } from './generate.js';
export { type ChildInit, childInit, initSeed, type ModuleInit, normalInit, parameterSeed } from './init.js';
export type { BlockCopy, PrefixHit } from './kv-block-pool.js';
export { KvBlockPool } from './kv-block-pool.js';
export { KvCache, type KvCacheOptions } from './kv-cache.js';
export { Linear, type LinearAdapter, type LinearOptions } from './linear.js';
export {
  type CausalLMForwardOptions,
  type ForwardBatchOptions,
  LlamaForCausalLM,
  type LlamaInitOptions,
  LlamaModel,
  type PrefillOptions,
} from './llama.js';
export {
  applyLora,
  baseParameters,
  isLoraParameter,
  LORA_LLAMA_TARGETS,
  LoraAdapter,
  type LoraOptions,
  loraAdapters,
  mergeLora,
  trainableParameters,
  unmergeLora,
} from './lora.js';
export { crossEntropyLoss } from './loss.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  ModuleList,
  type Parameter,
  type StateDictEntry,
} from './module.js';
export { forwardPaged, forwardPagedBetweenLayers, type PagedChunk, type PagedForwardOptions } from './paged-forward.js';
export { PagedKvCache, type PagedKvCacheOptions } from './paged-kv-cache.js';
export { LLAMA_PRESETS, type LlamaPresetName, llamaPreset } from './presets.js';
export { RMSNorm } from './rms-norm.js';
export { positionRange, RotaryEmbedding } from './rotary-embedding.js';
export {
  argmax,
  DEFAULT_SAMPLING,
  logSumExp,
  Sampler,
  type SamplingOptions,
  type SamplingParams,
  type TokenLogprob,
  tokenLogprobs,
  topKIndices,
} from './sampling.js';
export { type LlamaTuneOptions, llamaTuneShapes } from './tune-shapes.js';
