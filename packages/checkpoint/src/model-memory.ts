/**
 * How much memory a model needs per storage type — weights plus KV cache at the context length — as llama.cpp and
 * web-llm print it before loading. Weights follow llama.cpp's file layouts: norms stay F32, matrices take the
 * type's bytes per weight (Q8_0 34 B / 32, Q4_0 18 B / 32); Q4_K_M is llama.cpp's mix: Q6_K (210 B / 256) for the
 * output matrix and for attn_v / ffn_down in the first and last eighth of the layers and every third layer
 * between, Q4_K (144 B / 256) elsewhere.
 *
 * @module
 */
import type { LlamaConfig } from '@andes/nn';

/** Storage types the memory table lists. */
export type MemoryDtype = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_k_m';

/** All {@link MemoryDtype}s in table order. */
export const MEMORY_DTYPES: readonly MemoryDtype[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'];

const bytesPerWeight: Record<Exclude<MemoryDtype, 'q4_k_m'>, number> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  q8_0: 34 / 32,
  q4_0: 18 / 32,
};
const Q4_K = 144 / 256;
const Q6_K = 210 / 256;

/** One row of the memory table. */
export interface ModelMemory {
  /** Storage type. */
  dtype: MemoryDtype;
  /** Bytes of weights. */
  weightBytes: number;
  /** Bytes of the KV cache (`kvBytesPerValue` per value). */
  kvBytes: number;
  /** Sum. */
  totalBytes: number;
}

/** llama.cpp's `use_more_bits`: the layers whose attn_v / ffn_down get Q6_K in a Q4_K_M file. */
function moreBits(layer: number, layers: number): boolean {
  return layer < layers / 8 || layer >= (7 * layers) / 8 || (layer - Math.floor(layers / 8)) % 3 === 2;
}

/** Bytes of a model's weights stored as `dtype`. */
export function weightBytes(config: LlamaConfig, dtype: MemoryDtype): number {
  const d = config.hidden_size;
  const kv = config.num_key_value_heads * (d / config.num_attention_heads);
  const h = config.intermediate_size;
  const norms = (2 * config.num_hidden_layers + 1) * d * 4;
  const embedding = config.vocab_size * d;
  const output = config.tie_word_embeddings ? 0 : config.vocab_size * d;
  const attnV = kv * d;
  const ffnDown = d * h;
  const rest = d * d * 2 + kv * d + 2 * h * d; // q, o, k, gate, up
  const L = config.num_hidden_layers;
  if (dtype !== 'q4_k_m') {
    return norms + (embedding + output + L * (rest + attnV + ffnDown)) * bytesPerWeight[dtype];
  }
  let layers = 0;
  for (let l = 0; l < L; l++) layers += rest * Q4_K + (attnV + ffnDown) * (moreBits(l, L) ? Q6_K : Q4_K);
  return norms + embedding * Q4_K + output * Q6_K + layers;
}

/** Bytes of a KV cache: keys and values of every layer for `positions` positions. */
export function kvCacheBytes(config: LlamaConfig, positions: number, bytesPerValue = 2): number {
  const kv = config.num_key_value_heads * (config.hidden_size / config.num_attention_heads);
  return 2 * config.num_hidden_layers * positions * kv * bytesPerValue;
}

/**
 * The memory table: for every storage type, weights plus an f16 KV cache of `positions` positions (context length ×
 * sequences), as llama.cpp allocates it.
 */
export function modelMemoryTable(config: LlamaConfig, positions: number, kvBytesPerValue = 2): ModelMemory[] {
  const kvBytes = kvCacheBytes(config, positions, kvBytesPerValue);
  return MEMORY_DTYPES.map((dtype) => {
    const w = weightBytes(config, dtype);
    return { dtype, weightBytes: w, kvBytes, totalBytes: w + kvBytes };
  });
}
