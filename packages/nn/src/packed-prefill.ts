/**
 * Batched prefill: the prompt chunks of several sequences in one forward. Their rows are packed back to back into
 * one `[1, T, d]` batch, so every weight is read once for all of them (the projections and the MLP are T-row
 * matmuls), while attention runs per chunk against its own KV-cache slot. A server admitting several requests at
 * one token boundary pays one pass over the weights instead of one per request.
 *
 * @module
 */

import { concat, noGrad, type Tensor, tensor, tidy } from '@andes/tensor';
import type { PackedChunk } from './attention.js';
import type { KvCache } from './kv-cache.js';
import type { LlamaForCausalLM } from './llama.js';

/** One sequence's chunk of {@link prefillPacked}. */
export interface PrefillItem {
  /** Token ids of the chunk (≥ 1). */
  ids: ArrayLike<number>;
  /** KV-cache slot of the sequence; distinct across items. */
  slot: number;
  /** Position of the first id (default: the slot's current length, so a chunk extends its sequence). */
  start?: number;
  /** Return logits of every position of this chunk instead of only its last. */
  allLogits?: boolean;
}

/**
 * Runs the chunks of several sequences through `model` in one forward, storing each chunk's keys/values in its
 * slot of `cache`, and returns logits `[R, V]`: for each item in order, its last position's row (or all its rows
 * with `allLogits`). Each row equals what `model.prefill` of that chunk alone returns (on the CPU backend, bit for
 * bit: every kernel computes a row independently of the others). Sets each slot's length to `start + length`.
 * No gradients; intermediates are freed.
 */
export function prefillPacked(model: LlamaForCausalLM, items: readonly PrefillItem[], cache: KvCache): Tensor {
  if (items.length === 0) throw new Error('prefillPacked: no items');
  const slots = new Set(items.map((it) => it.slot));
  if (slots.size !== items.length) {
    throw new Error(`prefillPacked: slots [${items.map((it) => it.slot).join(', ')}] repeat`);
  }
  const chunks: PackedChunk[] = items.map((it, i) => {
    const length = it.ids.length;
    if (length < 1) throw new Error(`prefillPacked: item ${i} (slot ${it.slot}) has no ids`);
    const start = it.start ?? (cache.lengths[it.slot] as number);
    cache.checkRange(it.slot, start, length);
    return { cache, slot: it.slot, start, length };
  });
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const ids = new Int32Array(total);
  const positions = new Int32Array(total);
  let row = 0;
  items.forEach((it, i) => {
    const c = chunks[i]!;
    for (let j = 0; j < c.length; j++, row++) {
      ids[row] = it.ids[j] as number;
      positions[row] = c.start + j;
    }
  });
  const vocab = model.config.vocab_size;
  const logits = noGrad(() =>
    tidy(() => {
      const pos = tensor(positions, [total], { dtype: 'int32' });
      let x = model.model.embedTokens.forward(tensor(ids, [1, total], { dtype: 'int32' }));
      for (const layer of model.model.layers) x = layer.forwardPacked(x, pos, chunks);
      const hidden = model.model.norm.forward(x); // [1, T, d]
      // Only the rows whose logits are wanted go through the output projection (the largest matmul).
      const rows: [number, number][] = [];
      let r0 = 0;
      items.forEach((it, i) => {
        const n = chunks[i]!.length;
        if (it.allLogits) rows.push([r0, r0 + n]);
        else rows.push([r0 + n - 1, r0 + n]);
        r0 += n;
      });
      const d = model.config.hidden_size;
      const picked = rows.map(([a, b]) => hidden.slice(1, a, b).reshape([b - a, d]));
      const h = picked.length === 1 ? picked[0]! : concat(picked, 0);
      return model.logits(h).reshape([-1, vocab]);
    }),
  );
  for (const c of chunks) cache.lengths[c.slot] = c.start + c.length;
  return logits;
}
