/**
 * Greedy generation for many prompts at once: each prompt is prefilled into its own KV-cache slot, then every
 * decoding step is one `forwardBatch` over all unfinished prompts, reading back only their argmax ids.
 * @module
 */
import { KvCache, type LlamaForCausalLM } from '@andes/nn';
import type { Tensor } from '@andes/tensor';

/** Options of {@link greedyBatch}. */
export interface GreedyBatchOptions {
  /** Most new tokens per prompt. */
  maxNewTokens: number;
  /** Prompts decoded together (KV-cache slots; default 8). */
  slots?: number;
  /** Ends prompt `index` after its newest token (the token is kept); EOS is handled by {@link greedyBatch} itself. */
  stop?: (index: number, generated: readonly number[]) => boolean;
  /** Called with (prompts finished, total). */
  onProgress?: (done: number, total: number) => void;
}

async function argmaxIds(logits: Tensor): Promise<Int32Array> {
  const ids = logits.argmax(-1);
  logits.dispose();
  try {
    return (await ids.data()) as Int32Array;
  } finally {
    ids.dispose();
  }
}

/**
 * Greedy continuation ids of each prompt (each prompt: at least one id), stopping at EOS (not included), at
 * `maxNewTokens`, or when `stop` says so. Same tokens as decoding each prompt alone.
 */
export async function greedyBatch(
  model: LlamaForCausalLM,
  prompts: readonly (readonly number[])[],
  options: GreedyBatchOptions,
): Promise<number[][]> {
  const slots = Math.max(1, Math.min(options.slots ?? 8, prompts.length));
  const eos = model.config.eos_token_id;
  const outputs = prompts.map((): number[] => []);
  if (prompts.length === 0 || options.maxNewTokens === 0) return outputs;
  // A loop, not Math.max(...): spreading a large task's prompts would overflow the argument limit.
  const longest = prompts.reduce((m, p) => Math.max(m, p.length), 0);
  const cache = new KvCache(model.config, { maxBatch: slots, maxSeq: longest + options.maxNewTokens });
  let finished = 0;
  try {
    for (let first = 0; first < prompts.length; first += slots) {
      const chunk = prompts.slice(first, first + slots).map((_, k) => first + k);
      // Active rows: prompt index, its slot, and the token to feed next.
      let active: { index: number; slot: number; next: number }[] = [];
      for (const [slot, index] of chunk.entries()) {
        if (prompts[index]!.length === 0)
          throw new Error(`greedyBatch: prompt ${index} is empty (it needs at least BOS)`);
        cache.release(slot);
        const [id] = await argmaxIds(model.prefill(prompts[index]!, { cache, slot }));
        active.push({ index, slot, next: id! });
      }
      while (active.length > 0) {
        const still: typeof active = [];
        for (const row of active) {
          const out = outputs[row.index]!;
          let done = row.next === eos;
          if (!done) {
            out.push(row.next);
            done = out.length >= options.maxNewTokens || options.stop?.(row.index, out) === true;
          }
          if (done) {
            options.onProgress?.(++finished, prompts.length);
          } else still.push(row);
        }
        active = still;
        if (active.length === 0) break;
        const ids = await argmaxIds(
          model.forwardBatch(
            active.map((r) => r.next),
            { cache, slots: active.map((r) => r.slot) },
          ),
        );
        active.forEach((r, i) => {
          r.next = ids[i]!;
        });
      }
    }
  } finally {
    cache.dispose();
  }
  return outputs;
}
