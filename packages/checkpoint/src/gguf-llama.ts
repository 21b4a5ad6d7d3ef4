/**
 * The LLaMA conventions of GGUF as llama.cpp reads them: `llama.*` hyper-parameter keys ↔ `LlamaConfig`, and
 * llama.cpp's tensor names (`blk.N.attn_q.weight`, …) ↔ Hugging Face's (`model.layers.N.self_attn.q_proj.weight`).
 *
 * @module
 */
import { type LlamaConfig, llamaConfig } from '@andes/nn';
import type { GgufValue } from './gguf-metadata.js';

const layerNames: readonly [hf: string, gguf: string][] = [
  ['input_layernorm.weight', 'attn_norm.weight'],
  ['self_attn.q_proj.weight', 'attn_q.weight'],
  ['self_attn.k_proj.weight', 'attn_k.weight'],
  ['self_attn.v_proj.weight', 'attn_v.weight'],
  ['self_attn.o_proj.weight', 'attn_output.weight'],
  ['post_attention_layernorm.weight', 'ffn_norm.weight'],
  ['mlp.gate_proj.weight', 'ffn_gate.weight'],
  ['mlp.up_proj.weight', 'ffn_up.weight'],
  ['mlp.down_proj.weight', 'ffn_down.weight'],
];
const globalNames: readonly [hf: string, gguf: string][] = [
  ['model.embed_tokens.weight', 'token_embd.weight'],
  ['model.norm.weight', 'output_norm.weight'],
  ['lm_head.weight', 'output.weight'],
];

/** llama.cpp's name of a Hugging Face LLaMA parameter, or undefined when it has none. */
export function ggufTensorName(hfName: string): string | undefined {
  const global = globalNames.find(([hf]) => hf === hfName);
  if (global) return global[1];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const pair = m && layerNames.find(([hf]) => hf === m[2]);
  return pair ? `blk.${m[1]}.${pair[1]}` : undefined;
}

/** The Hugging Face name of a llama.cpp LLaMA tensor, or undefined when it is not one. */
export function hfTensorName(ggufName: string): string | undefined {
  const global = globalNames.find(([, g]) => g === ggufName);
  if (global) return global[0];
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  const pair = m && layerNames.find(([, g]) => g === m[2]);
  return pair ? `model.layers.${m[1]}.${pair[0]}` : undefined;
}

/** The shortest decimal that is the same float32 (so 1e-5 stored as f32 reads back as 1e-5, not 9.99999974e-6). */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

/** The `llama.*` (and `general.*`) metadata of a config. */
export function llamaMetadata(config: LlamaConfig, name: string): Map<string, GgufValue> {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufValue => ({ type: 'f32', value });
  return new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['llama.vocab_size', u32(config.vocab_size)],
    ['llama.context_length', u32(config.max_position_embeddings)],
    ['llama.embedding_length', u32(config.hidden_size)],
    ['llama.block_count', u32(config.num_hidden_layers)],
    ['llama.feed_forward_length', u32(config.intermediate_size)],
    ['llama.rope.dimension_count', u32(config.hidden_size / config.num_attention_heads)],
    ['llama.attention.head_count', u32(config.num_attention_heads)],
    ['llama.attention.head_count_kv', u32(config.num_key_value_heads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(config.rms_norm_eps)],
    ['llama.rope.freq_base', f32(config.rope_theta)],
  ]);
}

/** Reads a number-valued key (any integer or float type), or returns `fallback` when absent. */
export function metaNumber(meta: ReadonlyMap<string, GgufValue>, key: string, file: string, fallback?: number): number {
  const v = meta.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: metadata ${key} is missing`);
  }
  if (typeof v.value === 'number') return v.type === 'f32' ? shortestFloat32(v.value) : v.value;
  if (typeof v.value === 'bigint') return Number(v.value);
  throw new Error(`${file}: metadata ${key} should be a number, got ${v.type}`);
}

/** Reads a string key, or returns `fallback`. */
export function metaString(meta: ReadonlyMap<string, GgufValue>, key: string, fallback?: string): string | undefined {
  const v = meta.get(key);
  return v?.type === 'string' ? v.value : fallback;
}

/**
 * The `LlamaConfig` of a GGUF file's `llama.*` metadata. `vocabSize` comes from `llama.vocab_size`, else the caller
 * (token list or embedding rows); `tied` is true when the file has no `output.weight`. Features this model does not
 * implement (rope scaling, experts, a rotary dimension other than the head size) are refused by name.
 */
export function llamaConfigFromGguf(
  meta: ReadonlyMap<string, GgufValue>,
  file: string,
  vocabSize: number,
  tied: boolean,
): LlamaConfig {
  const arch = metaString(meta, 'general.architecture');
  if (arch !== 'llama') {
    throw new Error(`${file}: general.architecture is ${JSON.stringify(arch)}; only "llama" models are supported`);
  }
  const n = (key: string, fallback?: number) => metaNumber(meta, `llama.${key}`, file, fallback);
  const scaling = metaString(meta, 'llama.rope.scaling.type', 'none');
  if (scaling !== 'none') throw new Error(`${file}: llama.rope.scaling.type ${scaling} is not supported`);
  if (n('expert_count', 0) > 0)
    throw new Error(`${file}: mixture-of-experts models (llama.expert_count) are not supported`);
  const heads = n('attention.head_count');
  const hidden = n('embedding_length');
  const ropeDim = n('rope.dimension_count', hidden / heads);
  if (ropeDim !== hidden / heads) {
    throw new Error(`${file}: llama.rope.dimension_count ${ropeDim} differs from the head size ${hidden / heads}`);
  }
  const id = (key: string, fallback: number) => metaNumber(meta, `tokenizer.ggml.${key}`, file, fallback);
  try {
    return llamaConfig({
      vocab_size: n('vocab_size', vocabSize),
      hidden_size: hidden,
      intermediate_size: n('feed_forward_length'),
      num_hidden_layers: n('block_count'),
      num_attention_heads: heads,
      num_key_value_heads: n('attention.head_count_kv', heads),
      max_position_embeddings: n('context_length', 2048),
      rms_norm_eps: n('attention.layer_norm_rms_epsilon', 1e-5),
      rope_theta: n('rope.freq_base', 10000),
      tie_word_embeddings: tied,
      bos_token_id: id('bos_token_id', 1),
      eos_token_id: id('eos_token_id', 2),
    });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
