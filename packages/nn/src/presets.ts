/**
 * Named model sizes: the LLaMA paper's four models, llama2.c's TinyStories models, and small presets that train on a
 * laptop CPU or a software WebGPU adapter.
 *
 * @module
 */

import { type LlamaConfig, type LlamaConfigInput, llamaConfig } from './config.js';

/** Names accepted by {@link llamaPreset}. */
export type LlamaPresetName =
  | 'llama-7b'
  | 'llama-13b'
  | 'llama-33b'
  | 'llama-65b'
  | 'stories-15m'
  | 'stories-42m'
  | 'stories-110m'
  | 'nano'
  | 'tiny'
  | 'small';

/** The LLaMA paper's hyper-parameters (Touvron et al. 2023, table 2): SentencePiece vocab of 32000, context 2048. */
function paper(
  hidden_size: number,
  num_hidden_layers: number,
  num_attention_heads: number,
): Omit<LlamaConfigInput, 'vocab_size'> {
  return {
    hidden_size,
    num_hidden_layers,
    num_attention_heads,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  };
}

/** llama2.c's TinyStories models: shared embedding/classifier, eps 1e-5, SwiGLU rounded to multiples of 32. */
function stories(
  hidden_size: number,
  intermediate_size: number,
  layers: number,
  heads: number,
  seq: number,
): Omit<LlamaConfigInput, 'vocab_size'> {
  return {
    hidden_size,
    intermediate_size,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    max_position_embeddings: seq,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
  };
}

/** Small grouped-query models for CPU / software-WebGPU training; the vocabulary comes from the tokenizer. */
function small(
  hidden_size: number,
  layers: number,
  heads: number,
  kvHeads: number,
  seq: number,
): Omit<LlamaConfigInput, 'vocab_size'> {
  return {
    hidden_size,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: seq,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
  };
}

interface PresetEntry {
  readonly base: Omit<LlamaConfigInput, 'vocab_size'>;
  /** The preset's vocabulary, or undefined when it must come from the caller's tokenizer. */
  readonly vocab?: number;
  readonly description: string;
}

const PRESETS: Record<LlamaPresetName, PresetEntry> = {
  'llama-7b': { base: paper(4096, 32, 32), vocab: 32000, description: 'LLaMA 7B (6.7B parameters)' },
  'llama-13b': { base: paper(5120, 40, 40), vocab: 32000, description: 'LLaMA 13B (13.0B parameters)' },
  'llama-33b': { base: paper(6656, 60, 52), vocab: 32000, description: 'LLaMA 33B (32.5B parameters)' },
  'llama-65b': { base: paper(8192, 80, 64), vocab: 32000, description: 'LLaMA 65B (65.2B parameters)' },
  'stories-15m': { base: stories(288, 768, 6, 6, 256), vocab: 32000, description: "llama2.c's stories15M" },
  'stories-42m': { base: stories(512, 1376, 8, 8, 1024), vocab: 32000, description: "llama2.c's stories42M" },
  'stories-110m': { base: stories(768, 2048, 12, 12, 1024), vocab: 32000, description: "llama2.c's stories110M" },
  nano: { base: small(64, 2, 4, 2, 64), description: 'd=64, 2 layers, 4 heads / 2 kv heads, 64 tokens: smoke tests' },
  tiny: {
    base: small(128, 4, 4, 2, 128),
    description: 'd=128, 4 layers, 4 heads / 2 kv heads, 128 tokens: ~1-3M parameters, minutes on a CPU',
  },
  small: { base: small(256, 6, 8, 4, 256), description: 'd=256, 6 layers, 8 heads / 4 kv heads, 256 tokens' },
};

/** Every preset name with a one-line description, for CLIs (`--preset`). */
export const LLAMA_PRESETS: ReadonlyArray<{ name: LlamaPresetName; description: string }> = Object.entries(PRESETS).map(
  ([name, entry]) => ({ name: name as LlamaPresetName, description: entry.description }),
);

/**
 * The config of a named preset, with optional overrides (for example `vocab_size` from a tokenizer, which the
 * `nano`/`tiny`/`small` presets require).
 *
 * @example
 * ```ts
 * const config = llamaPreset('tiny', { vocab_size: tokenizer.vocabSize });
 * ```
 * @throws Error for an unknown name (listing the known ones), a missing vocabulary, or an invalid result.
 */
export function llamaPreset(name: string, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  const entry = (PRESETS as Record<string, PresetEntry | undefined>)[name];
  if (entry === undefined) {
    throw new Error(`llamaPreset: unknown preset '${name}'; known presets: ${Object.keys(PRESETS).join(', ')}`);
  }
  const vocab_size = overrides.vocab_size ?? entry.vocab;
  if (vocab_size === undefined) {
    throw new Error(`llamaPreset('${name}'): this preset needs vocab_size (take it from your tokenizer)`);
  }
  return llamaConfig({ ...entry.base, ...overrides, vocab_size });
}
