import type { DataTokenizer } from '../packing.js';

/** Token ids of several texts (no BOS/EOS), back to back, with each text's token count. */
export interface EncodedBatch {
  /** All ids, text after text. */
  tokens: Uint32Array;
  /** Tokens of each text. */
  lengths: Uint32Array;
}

/** Encodes `texts` without BOS/EOS (the loader adds them when it packs). */
export function encodeBatch(tokenizer: DataTokenizer, texts: readonly string[]): EncodedBatch {
  const parts = texts.map((t) => tokenizer.encode(t, { bos: false, eos: false }));
  const lengths = new Uint32Array(parts.map((p) => p.length));
  const tokens = new Uint32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const p of parts) {
    tokens.set(p, at);
    at += p.length;
  }
  return { tokens, lengths };
}
