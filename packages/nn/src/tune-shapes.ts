/**
 * The kernel shapes a LLaMA model runs, as plain descriptors for `tune()` of `@andes/tensor`: every linear layer
 * (`x · Wᵀ`, W stored `[out, in]`) with its backward products when training, the grouped q/k/v, gate/up and
 * residual products, the causal attention, the RMSNorm rows, and the one-row decode products.
 *
 * @module
 */

import type { TuneShape } from '@andes/tensor';
import { headDim, type LlamaConfig } from './config.js';

/** What the model will be run for. */
export interface LlamaTuneOptions {
  /** Sequences per step. */
  batchSize: number;
  /** Tokens per sequence. */
  seqLen: number;
  /** Include the backward products (training; default true). */
  training?: boolean;
  /** Include one-row decode products for generation (default true). */
  decode?: boolean;
}

/** The matmul, attention and RMSNorm shapes of one forward (and backward) step of `config` at `batchSize × seqLen`. */
export function llamaTuneShapes(config: LlamaConfig, options: LlamaTuneOptions): TuneShape[] {
  const { batchSize, seqLen } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0) || !(Number.isInteger(seqLen) && seqLen > 0)) {
    throw new Error(`llamaTuneShapes: batchSize ${batchSize} and seqLen ${seqLen} must be positive integers`);
  }
  const training = options.training ?? true;
  const d = config.hidden_size;
  const dh = headDim(config);
  const kv = config.num_key_value_heads * dh;
  // [in, out] of every linear layer: q, k, v, o, gate, up, down, and the LM head.
  const layers: [number, number][] = [
    [d, d],
    [d, kv],
    [d, config.intermediate_size],
    [config.intermediate_size, d],
    [d, config.vocab_size],
  ];
  const shapes: TuneShape[] = [];
  const rows = batchSize * seqLen;
  for (const [k, n] of layers) {
    shapes.push({ kind: 'matmul', m: rows, k, n, transposeB: true, backward: training });
    if (options.decode ?? true) shapes.push({ kind: 'matmul', m: 1, k, n, transposeB: true });
  }
  // The grouped products of each layer (q/k/v, gate/up, and o/down with the residual add as their epilogue).
  const parts: { k: number; n: number[]; residual?: boolean }[] = [
    { k: d, n: [d, kv, kv] },
    { k: d, n: [config.intermediate_size, config.intermediate_size] },
    { k: d, n: [d], residual: true },
    { k: config.intermediate_size, n: [d], residual: true },
  ];
  for (const p of parts) {
    shapes.push({ kind: 'linear-parts', m: rows, ...p, backward: training });
    if (options.decode ?? true) shapes.push({ kind: 'linear-parts', m: 1, ...p });
  }
  shapes.push({
    kind: 'attention',
    batch: batchSize,
    heads: config.num_attention_heads,
    kvHeads: config.num_key_value_heads,
    seqLen,
    headDim: dh,
    causal: true,
    backward: training,
  });
  // The RMSNorms (forward, dx and the fused residual-add form share the rows family's classes).
  shapes.push({ kind: 'rows', op: 'rmsnorm', rows, cols: d });
  if (options.decode ?? true) shapes.push({ kind: 'rows', op: 'rmsnorm', rows: 1, cols: d });
  return shapes;
}
