/**
 * One forward over a paged KV cache for any mix of sequences: decodes (one token) and prefill chunks (many) of
 * different sequences, packed back to back into one `[1, T, d]` batch. Every weight is read once for all T rows;
 * each layer writes the rows' keys/values straight into their blocks and runs one paged attention over all rows
 * (each row sees its own sequence up to its position). This is the step a continuous-batching server runs.
 *
 * @module
 */

import { concat, noGrad, pagedKvIndex, type Tensor, tensor, tidy } from '@andes/tensor';
import { throughLayers } from './decoder-layer.js';
import type { LlamaForCausalLM } from './llama.js';
import type { PagedKvCache } from './paged-kv-cache.js';

/** Options of {@link forwardPaged}. */
export interface PagedForwardOptions {
  /**
   * Commit the chunks' ids to the pool when the forward is done (default true). False: the caller commits them, or
   * a copy of the pool replays the commits in its own order (an engine worker follows the main thread's pool).
   */
  commit?: boolean;
  /**
   * Run the output projection (default true). False: return the wanted rows' final hidden states `[R, d]` (after the
   * final norm) instead of logits, so that a caller can put the rows of several forwards through one projection
   * (`model.logits`), the step's largest product; row layout as the logits'.
   */
  head?: boolean;
}

/** One sequence's part of a {@link forwardPaged} step. */
export interface PagedChunk {
  /** The sequence (open in `cache.pool`, with blocks for positions up to `start + ids.length`). */
  seq: number;
  /** Token ids (≥ 1): one for a decode step, several for a prefill chunk. */
  ids: readonly number[];
  /** Position of the first id; must equal the sequence's committed length (chunks extend their sequence). */
  start: number;
  /** Return logits of every position of the chunk instead of only its last. */
  allLogits?: boolean;
  /**
   * No logits for this chunk (a prompt chunk before the last, whose next token is not drawn yet): none of its rows
   * goes through the output projection, the step's largest product (ignored with `allLogits`).
   */
  skipLogits?: boolean;
}

/**
 * Runs the chunks through `model` in one forward, writing their keys/values into `cache` and committing their ids to
 * the pool (which registers completed blocks for prefix sharing). The pool's pending partial-block copies run first
 * (`PagedKvCache.runPendingCopies`), whichever sequences they belong to. Returns logits `[R, V]`: per chunk in order,
 * its last position's row (all rows with `allLogits`, none with `skipLogits`; R may be 0), or the rows' final hidden
 * states `[R, d]` with `head: false`. Each row equals what a contiguous-cache prefill/decode of that
 * sequence alone computes (up to float rounding of the attention sum order). No gradients; intermediates are freed.
 */
export function forwardPaged(
  model: LlamaForCausalLM,
  chunks: readonly PagedChunk[],
  cache: PagedKvCache,
  options: PagedForwardOptions = {},
): Tensor {
  const rows = pagedRows(model, chunks, cache);
  cache.runPendingCopies();
  const logits = noGrad(() =>
    tidy(() => {
      const { index, pos, embedded } = pagedInputs(model, chunks, cache, rows);
      const step = { cache, index };
      const x = throughLayers(model.model.layers, embedded, (layer, h) => layer.forwardPaged(h, pos, step));
      return pagedOutput(model, chunks, x, options);
    }),
  );
  if (options.commit !== false) for (const c of chunks) cache.pool.commit(c.seq, c.start, c.ids);
  return logits;
}

/**
 * {@link forwardPaged}, calling `between()` after each decoder layer (the last too) and awaiting it when it returns a
 * promise. Why: a server can run a newly arrived prompt's whole prefill there (another `forwardPaged` of other
 * sequences, on the same cache) instead of making it wait for the rest of this step; its first token then waits
 * for at most one layer of this step. Nothing of this step is in a tidy scope or a no-grad region while `between`
 * runs, so whatever it computes is its own; it must not touch this step's sequences. Same results as
 * {@link forwardPaged}.
 */
export async function forwardPagedBetweenLayers(
  model: LlamaForCausalLM,
  chunks: readonly PagedChunk[],
  cache: PagedKvCache,
  between: () => Promise<void> | undefined,
  options: PagedForwardOptions = {},
): Promise<Tensor> {
  const rows = pagedRows(model, chunks, cache);
  cache.runPendingCopies();
  const { index, pos, embedded } = noGrad(() => tidy(() => pagedInputs(model, chunks, cache, rows)));
  const step = { cache, index };
  const layers = model.model.layers;
  let h = embedded;
  try {
    for (let i = 0; i < layers.length; i++) {
      const input = h;
      h = noGrad(() => tidy(() => layers.at(i).forwardPaged(input, pos, step)));
      if (h !== input) input.dispose();
      // After the last layer too: the output projection that follows is the step's largest product.
      const pending = between();
      if (pending) await pending;
    }
    const x = h;
    const logits = noGrad(() => tidy(() => pagedOutput(model, chunks, x, options)));
    if (options.commit !== false) for (const c of chunks) cache.pool.commit(c.seq, c.start, c.ids);
    return logits;
  } finally {
    if (!h.isDisposed) h.dispose();
    index.data.dispose();
    pos.dispose();
  }
}

/** Checks the chunks against the pool and the context; each row's chunk, position and id, in step order. */
function pagedRows(model: LlamaForCausalLM, chunks: readonly PagedChunk[], cache: PagedKvCache) {
  const { pool } = cache;
  if (chunks.length === 0) throw new Error('forwardPaged: no chunks');
  if (new Set(chunks.map((c) => c.seq)).size !== chunks.length) {
    throw new Error(`forwardPaged: sequences [${chunks.map((c) => c.seq).join(', ')}] repeat`);
  }
  const rowSeq: number[] = [];
  const rowPositions: number[] = [];
  const ids: number[] = [];
  chunks.forEach((c, i) => {
    const n = c.ids.length;
    if (n < 1) throw new Error(`forwardPaged: chunk ${i} (sequence ${c.seq}) has no ids`);
    if (c.start !== pool.length(c.seq)) {
      throw new Error(
        `forwardPaged: sequence ${c.seq} holds ${pool.length(c.seq)} positions, chunk starts at ${c.start}`,
      );
    }
    if (c.start + n > pool.capacity(c.seq) || c.start + n > model.config.max_position_embeddings) {
      throw new Error(
        `forwardPaged: sequence ${c.seq} has blocks for ${pool.capacity(c.seq)} positions (context ` +
          `${model.config.max_position_embeddings}), chunk ends at ${c.start + n}; grow it first`,
      );
    }
    for (let j = 0; j < n; j++) {
      rowSeq.push(i);
      rowPositions.push(c.start + j);
      ids.push(c.ids[j]!);
    }
  });
  return { rowSeq, rowPositions, ids };
}

/** The step's paged index, row positions and embedded ids (the caller frees them, or a tidy scope does). */
function pagedInputs(
  model: LlamaForCausalLM,
  chunks: readonly PagedChunk[],
  cache: PagedKvCache,
  { rowSeq, rowPositions, ids }: ReturnType<typeof pagedRows>,
) {
  const { pool } = cache;
  const index = pagedKvIndex({
    blockSize: pool.blockSize,
    numBlocks: pool.numBlocks,
    blockTables: chunks.map((c) => pool.table(c.seq)),
    rowSeq,
    rowPositions,
  });
  const pos = tensor(Int32Array.from(rowPositions), [ids.length], { dtype: 'int32' });
  const embedded = model.model.embedTokens.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' }));
  return { index, pos, embedded };
}

/**
 * Logits `[R, V]` of the wanted rows of the last layer's output `x` (see {@link forwardPaged}), or with `head: false`
 * their final hidden states `[R, d]`.
 */
function pagedOutput(
  model: LlamaForCausalLM,
  chunks: readonly PagedChunk[],
  x: Tensor,
  { head = true }: PagedForwardOptions,
): Tensor {
  const vocab = model.config.vocab_size;
  const hidden = model.model.norm.forward(x); // [1, T, d]
  // Only the rows whose logits are wanted go through the output projection (the largest matmul).
  const d = model.config.hidden_size;
  const picked: Tensor[] = [];
  let r0 = 0;
  let run: [number, number] | null = null;
  const flush = () => {
    if (run) picked.push(hidden.slice(1, run[0], run[1]).reshape([run[1] - run[0], d]));
    run = null;
  };
  for (const c of chunks) {
    const n = c.ids.length;
    if (c.skipLogits && !c.allLogits) {
      r0 += n;
      continue;
    }
    const [a, b] = c.allLogits ? [r0, r0 + n] : [r0 + n - 1, r0 + n];
    // Adjacent wanted rows (decodes are one row each) are one slice.
    if (run && run[1] === a) run[1] = b;
    else {
      flush();
      run = [a, b];
    }
    r0 += n;
  }
  flush();
  if (picked.length === 0) return tensor(new Float32Array(0), [0, head ? vocab : d]);
  const h = picked.length === 1 ? picked[0]! : concat(picked, 0);
  return head ? model.logits(h).reshape([-1, vocab]) : h;
}
