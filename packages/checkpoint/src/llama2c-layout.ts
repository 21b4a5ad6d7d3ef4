/**
 * Where each tensor sits in a llama2.c `.bin`, for the three layouts its export.py writes:
 *
 * - legacy v0 (what run.c reads): 7 int32 `dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len`
 *   (a negative vocab_size means a separate classifier), then float32 tensors grouped by kind across layers —
 *   embedding, attention norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final norm, the RoPE tables
 *   `freq_cis_real`/`_imag` [seq_len, head_size/2] (run.c skips them), then the classifier when not shared;
 * - version 1: a 256-byte header (magic `ak42` = 0x616b3432, int32 version, the 7 ints, a shared-classifier byte),
 *   then float32 norms first (attention, ffn, final), embedding, wq … w3, classifier;
 * - version 2: as version 1 plus an int32 group size in the header; norms float32, every matrix int8 in groups
 *   with one float32 scale per group — each matrix's int8 values followed by its scales (as runq.c maps them).
 *
 * Matrices are PyTorch `[out, in]` row-major, q/k in Meta's interleaved rotary order.
 *
 * @module
 */
import type { LlamaConfig } from '@andes/nn';

/** The llama2.c magic number, "ak42" in ASCII read as a little-endian u32. */
export const LLAMA2C_MAGIC = 0x616b3432;

/** Header size of versions 1 and 2. */
export const LLAMA2C_HEADER_BYTES = 256;

/** One tensor slot of a `.bin` (name undefined: the RoPE tables run.c skips). */
export interface Llama2cSlot {
  /** Hugging Face parameter name, or undefined for a skipped table. */
  name: string | undefined;
  /** `[out, in]` or `[n]`. */
  shape: number[];
  /** Stored as int8 groups (version 2 matrices). */
  quantized: boolean;
}

function perLayer(config: LlamaConfig, suffix: string, shape: number[], quantized = false): Llama2cSlot[] {
  return Array.from({ length: config.num_hidden_layers }, (_, l) => ({
    name: `model.layers.${l}.${suffix}`,
    shape,
    quantized,
  }));
}

/** The tensor slots of a `.bin` of `version`, in file order. */
export function llama2cSlots(config: LlamaConfig, version: 0 | 1 | 2): Llama2cSlot[] {
  const d = config.hidden_size;
  const hs = d / config.num_attention_heads;
  const kv = config.num_key_value_heads * hs;
  const h = config.intermediate_size;
  const q = version === 2;
  const slot = (name: string | undefined, shape: number[], quantized = false): Llama2cSlot => ({
    name,
    shape,
    quantized,
  });
  const matrices = [
    ...perLayer(config, 'self_attn.q_proj.weight', [d, d], q),
    ...perLayer(config, 'self_attn.k_proj.weight', [kv, d], q),
    ...perLayer(config, 'self_attn.v_proj.weight', [kv, d], q),
    ...perLayer(config, 'self_attn.o_proj.weight', [d, d], q),
  ];
  const ffn = [
    ...perLayer(config, 'mlp.gate_proj.weight', [h, d], q),
    ...perLayer(config, 'mlp.down_proj.weight', [d, h], q),
    ...perLayer(config, 'mlp.up_proj.weight', [h, d], q),
  ];
  const classifier = config.tie_word_embeddings ? [] : [slot('lm_head.weight', [config.vocab_size, d], q)];
  if (version === 0) {
    return [
      slot('model.embed_tokens.weight', [config.vocab_size, d]),
      ...perLayer(config, 'input_layernorm.weight', [d]),
      ...matrices,
      ...perLayer(config, 'post_attention_layernorm.weight', [d]),
      ...ffn,
      slot('model.norm.weight', [d]),
      slot(undefined, [config.max_position_embeddings, hs / 2]),
      slot(undefined, [config.max_position_embeddings, hs / 2]),
      ...classifier,
    ];
  }
  return [
    ...perLayer(config, 'input_layernorm.weight', [d]),
    ...perLayer(config, 'post_attention_layernorm.weight', [d]),
    slot('model.norm.weight', [d]),
    slot('model.embed_tokens.weight', [config.vocab_size, d], q),
    ...matrices,
    ...ffn,
    ...classifier,
  ];
}

/** Byte offsets of each slot's data (and, for int8 slots, of its scales), and the file's total size. */
export function llama2cOffsets(
  slots: readonly Llama2cSlot[],
  version: 0 | 1 | 2,
  groupSize: number,
): { data: number[]; scales: number[]; size: number } {
  let at = version === 0 ? 28 : LLAMA2C_HEADER_BYTES;
  const data: number[] = [];
  const scales: number[] = [];
  for (const s of slots) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    data.push(at);
    at += n * (s.quantized ? 1 : 4);
    scales.push(at);
    if (s.quantized) at += (n / groupSize) * 4;
  }
  return { data, scales, size: at };
}
