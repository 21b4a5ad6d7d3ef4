/**
 * The model configuration of a run: the preset, the `model` overrides, and the tokenizer's vocabulary and ids.
 *
 * @module
 */
import { type LlamaConfig, llamaPreset } from '@andes/nn';
import { ConfigError, type TrainConfig } from './config.js';

/** The tokenizer facts a model config needs. */
export interface VocabularyInfo {
  vocabSize: number;
  bosId: number;
  eosId: number;
}

/**
 * Builds the run's `LlamaConfig`: `config.preset` with `config.model` overrides, vocabulary and BOS/EOS ids from the
 * tokenizer. Unknown override fields and a `seqLen` above the model's context are errors naming the field.
 */
export function buildModelConfig(config: TrainConfig, vocabulary: VocabularyInfo): LlamaConfig {
  const vocab = {
    vocab_size: vocabulary.vocabSize,
    bos_token_id: vocabulary.bosId,
    eos_token_id: vocabulary.eosId,
  };
  let base: LlamaConfig;
  try {
    base = llamaPreset(config.preset, vocab);
  } catch (err) {
    throw new ConfigError(`--preset / field "preset": ${(err as Error).message}`);
  }
  for (const key of Object.keys(config.model)) {
    if (!(key in base) || key === 'model_type')
      throw new ConfigError(
        `--model / field "model": unknown LlamaConfig field "${key}" (known: ${Object.keys(base)
          .filter((k) => k !== 'model_type')
          .join(', ')})`,
      );
    if (key in vocab)
      throw new ConfigError(`--model / field "model": "${key}" comes from the tokenizer and cannot be overridden`);
  }
  let model: LlamaConfig;
  try {
    model = llamaPreset(config.preset, { ...(config.model as Partial<LlamaConfig>), ...vocab });
  } catch (err) {
    throw new ConfigError(`--model / field "model": ${(err as Error).message}`);
  }
  if (config.seqLen > model.max_position_embeddings)
    throw new ConfigError(
      `--seq-len / field "seqLen": ${config.seqLen} exceeds the model's context max_position_embeddings=` +
        `${model.max_position_embeddings} (raise it with --model max_position_embeddings=${config.seqLen})`,
    );
  return model;
}
