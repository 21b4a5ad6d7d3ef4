/**
 * `LlamaConfig`: the plain, JSON-able description of a LLaMA-style model, with the field names of Hugging Face's
 * `LlamaConfig` so a `config.json` round-trips untouched.
 *
 * @module
 */

/** Which rotary layout the model computes in: Hugging Face pairs (i, i + d/2), Meta/GGUF pairs (2i, 2i+1). */
export type RopeLayout = 'half' | 'interleaved';

/**
 * The hyper-parameters of a LLaMA-style decoder, named as in Hugging Face's `LlamaConfig`.
 * Every field is required here; build one from a partial description with {@link llamaConfig}.
 */
export interface LlamaConfig {
  /** Always `'llama'` (Hugging Face's model type). */
  model_type: 'llama';
  /** Number of token ids, V. */
  vocab_size: number;
  /** Model width d (embedding size). */
  hidden_size: number;
  /** Width of the SwiGLU feed-forward's hidden layer. */
  intermediate_size: number;
  /** Number of decoder blocks. */
  num_hidden_layers: number;
  /** Number of query heads; the head size is `hidden_size / num_attention_heads`. */
  num_attention_heads: number;
  /** Number of key/value heads (grouped-query attention); divides `num_attention_heads`. */
  num_key_value_heads: number;
  /** Longest sequence the model is meant for (context length), in tokens. */
  max_position_embeddings: number;
  /** Epsilon inside RMSNorm's square root. */
  rms_norm_eps: number;
  /** Base of the rotary frequencies. */
  rope_theta: number;
  /** Whether the output projection shares the embedding table (no `lm_head.weight`). */
  tie_word_embeddings: boolean;
  /** Id of the beginning-of-sequence token. */
  bos_token_id: number;
  /** Id of the end-of-sequence token. */
  eos_token_id: number;
  /** Activation of the gated feed-forward; only `'silu'` (SwiGLU) is supported. */
  hidden_act: 'silu';
  /** Standard deviation of the normal initialisation of weight matrices. */
  initializer_range: number;
  /**
   * Andes extension: the rotary layout of q/k projections. `'half'` (default) is Hugging Face's, so HF checkpoints
   * load untouched; `'interleaved'` is Meta's original and GGUF's.
   */
  rope_style: RopeLayout;
}

/** The fields a caller must give; all others get LLaMA's defaults in {@link llamaConfig}. */
export type LlamaConfigInput = Partial<LlamaConfig> &
  Pick<LlamaConfig, 'vocab_size' | 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads'>;

/**
 * The SwiGLU hidden size of Meta's reference code: `multipleOf · ⌈⌊8·dim/3⌋ / multipleOf⌉`
 * (two thirds of 4·dim, to keep the parameter count of a 4·dim MLP with three matrices, rounded up).
 *
 * @param dim - model width d
 * @param multipleOf - rounding granularity (256 in LLaMA, 32 in llama2.c's stories models)
 */
export function swigluHiddenSize(dim: number, multipleOf = 256): number {
  const hidden = Math.floor((8 * dim) / 3);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

/**
 * A complete, validated {@link LlamaConfig} from a partial one. Defaults: `intermediate_size` from
 * {@link swigluHiddenSize}, `num_key_value_heads = num_attention_heads`, `max_position_embeddings` 2048,
 * `rms_norm_eps` 1e-6, `rope_theta` 10000, untied embeddings, bos 1, eos 2, `initializer_range` 0.02,
 * `rope_style` `'half'`. Unknown extra fields (for example from a Hugging Face `config.json`) are dropped, except
 * those that would change the model's math and are not implemented (`rope_scaling`, `attention_bias`, `mlp_bias`,
 * a `head_dim` other than `hidden_size / num_attention_heads`), which throw rather than load a different model.
 *
 * @throws Error naming the offending field and value when the result is not a valid model.
 */
export function llamaConfig(input: LlamaConfigInput): LlamaConfig {
  const extra = input as Record<string, unknown>;
  for (const field of ['rope_scaling', 'attention_bias', 'mlp_bias'] as const) {
    const value = extra[field];
    if (value !== undefined && value !== null && value !== false) {
      throw new Error(`llamaConfig: ${field}=${JSON.stringify(value)} is not supported (LLaMA 1 has none)`);
    }
  }
  const hd = extra.head_dim;
  if (hd !== undefined && hd !== null && hd !== input.hidden_size / input.num_attention_heads) {
    throw new Error(
      `llamaConfig: head_dim=${String(hd)} differs from hidden_size/num_attention_heads = ${input.hidden_size / input.num_attention_heads}; not supported`,
    );
  }
  const config: LlamaConfig = {
    model_type: 'llama',
    vocab_size: input.vocab_size,
    hidden_size: input.hidden_size,
    intermediate_size: input.intermediate_size ?? swigluHiddenSize(input.hidden_size),
    num_hidden_layers: input.num_hidden_layers,
    num_attention_heads: input.num_attention_heads,
    num_key_value_heads: input.num_key_value_heads ?? input.num_attention_heads,
    max_position_embeddings: input.max_position_embeddings ?? 2048,
    rms_norm_eps: input.rms_norm_eps ?? 1e-6,
    rope_theta: input.rope_theta ?? 10000,
    tie_word_embeddings: input.tie_word_embeddings ?? false,
    bos_token_id: input.bos_token_id ?? 1,
    eos_token_id: input.eos_token_id ?? 2,
    hidden_act: input.hidden_act ?? 'silu',
    initializer_range: input.initializer_range ?? 0.02,
    rope_style: input.rope_style ?? 'half',
  };
  validateLlamaConfig(config);
  return config;
}

/** Head size `hidden_size / num_attention_heads`. */
export function headDim(config: LlamaConfig): number {
  return config.hidden_size / config.num_attention_heads;
}

/**
 * Checks that a config describes a buildable model.
 *
 * @throws Error naming the field and its value, e.g. `LlamaConfig.num_key_value_heads (3) must divide
 *   num_attention_heads (8)`.
 */
export function validateLlamaConfig(config: LlamaConfig): void {
  const positive = [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'max_position_embeddings',
  ] as const;
  for (const field of positive) {
    const value = config[field];
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`LlamaConfig.${field} must be a positive integer, got ${String(value)}`);
    }
  }
  const { hidden_size, num_attention_heads, num_key_value_heads } = config;
  if (hidden_size % num_attention_heads !== 0) {
    throw new Error(
      `LlamaConfig.hidden_size (${hidden_size}) must be divisible by num_attention_heads (${num_attention_heads})`,
    );
  }
  if (num_attention_heads % num_key_value_heads !== 0) {
    throw new Error(
      `LlamaConfig.num_key_value_heads (${num_key_value_heads}) must divide num_attention_heads (${num_attention_heads})`,
    );
  }
  if ((hidden_size / num_attention_heads) % 2 !== 0) {
    throw new Error(
      `LlamaConfig: head size hidden_size/num_attention_heads = ${hidden_size / num_attention_heads} must be even for rotary embeddings`,
    );
  }
  if (!(config.rms_norm_eps > 0) || !Number.isFinite(config.rms_norm_eps)) {
    throw new Error(`LlamaConfig.rms_norm_eps must be a positive number, got ${String(config.rms_norm_eps)}`);
  }
  if (!(config.rope_theta > 0) || !Number.isFinite(config.rope_theta)) {
    throw new Error(`LlamaConfig.rope_theta must be a positive number, got ${String(config.rope_theta)}`);
  }
  if (!(config.initializer_range >= 0) || !Number.isFinite(config.initializer_range)) {
    throw new Error(
      `LlamaConfig.initializer_range must be a non-negative number, got ${String(config.initializer_range)}`,
    );
  }
  for (const field of ['bos_token_id', 'eos_token_id'] as const) {
    const id = config[field];
    if (!Number.isInteger(id) || id < -1 || id >= config.vocab_size) {
      throw new Error(
        `LlamaConfig.${field} (${String(id)}) must be an integer in [-1, vocab_size=${config.vocab_size})`,
      );
    }
  }
  if (config.hidden_act !== 'silu') {
    throw new Error(`LlamaConfig.hidden_act must be 'silu' (SwiGLU), got ${JSON.stringify(config.hidden_act)}`);
  }
  if (config.rope_style !== 'half' && config.rope_style !== 'interleaved') {
    throw new Error(`LlamaConfig.rope_style must be 'half' or 'interleaved', got ${JSON.stringify(config.rope_style)}`);
  }
  if (typeof config.tie_word_embeddings !== 'boolean') {
    throw new Error(`LlamaConfig.tie_word_embeddings must be a boolean, got ${String(config.tie_word_embeddings)}`);
  }
}
