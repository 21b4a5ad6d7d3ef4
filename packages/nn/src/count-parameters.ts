/**
 * Parameter counting from a config alone, without allocating a model (so a 65B config can be sized on a laptop).
 *
 * @module
 */

import { headDim, type LlamaConfig } from './config.js';

/** Parameter counts of a LLaMA model, by part. All counts are numbers of scalars. */
export interface ParameterCount {
  /** `model.embed_tokens.weight`: V·d. */
  embedding: number;
  /** One block's attention projections: q and o are d·d, k and v are d·(Hkv·Dh). */
  attentionPerLayer: number;
  /** One block's SwiGLU: gate, up and down, 3·d·hidden. */
  mlpPerLayer: number;
  /** One block's two RMSNorm weights: 2·d. */
  normsPerLayer: number;
  /** One whole block. */
  perLayer: number;
  /** The final `model.norm.weight`: d. */
  finalNorm: number;
  /** `lm_head.weight`: V·d, or 0 when tied to the embedding. */
  lmHead: number;
  /** Everything. */
  total: number;
}

/**
 * Counts the parameters a config describes, matching `new LlamaForCausalLM(config).numParameters()` exactly.
 *
 * @example
 * ```ts
 * countParameters(llamaPreset('llama-7b')).total; // 6_738_415_616
 * ```
 */
export function countParameters(config: LlamaConfig): ParameterCount {
  const d = config.hidden_size;
  const kvWidth = config.num_key_value_heads * headDim(config);
  const embedding = config.vocab_size * d;
  const attentionPerLayer = 2 * d * d + 2 * d * kvWidth;
  const mlpPerLayer = 3 * d * config.intermediate_size;
  const normsPerLayer = 2 * d;
  const perLayer = attentionPerLayer + mlpPerLayer + normsPerLayer;
  const finalNorm = d;
  const lmHead = config.tie_word_embeddings ? 0 : config.vocab_size * d;
  const total = embedding + config.num_hidden_layers * perLayer + finalNorm + lmHead;
  return { embedding, attentionPerLayer, mlpPerLayer, normsPerLayer, perLayer, finalNorm, lmHead, total };
}
