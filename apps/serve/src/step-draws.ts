/**
 * What a step hands back from its logits: which rows each chunk takes, tokens drawn on the device, logits rows read
 * back only for the chunks that want them.
 *
 * @module
 */
import { embedding, sampleTokens, type Tensor, tensor } from '@andes/tensor';
import type { SampledRow, StepChunk, StepResult } from './engine.js';

/** Whether a chunk's logits come back: always with `allLogits`, else when it is neither sampled nor skipped. */
function wantsLogits(c: StepChunk): boolean {
  return !!c.allLogits || (!c.sample && !c.skipLogits);
}

/**
 * Logits rows a chunk takes in `forwardPaged`'s output: every position with `allLogits`, none for a skipped prompt
 * chunk that draws nothing (its rows skip the output projection), else its last position.
 */
function rowsOf(c: StepChunk): number {
  return c.allLogits ? c.ids.length : c.skipLogits && !c.sample ? 0 : 1;
}

/** The chunks as `forwardPaged` takes them: a sampled chunk keeps its row whatever skipLogits says (see rowsOf). */
export function withSampledRows(chunks: readonly StepChunk[]): StepChunk[] {
  return chunks.map((c) => (c.sample && c.skipLogits ? { ...c, skipLogits: false } : c));
}

/** Rows `rows` of `all` [R, V] (all of it, not copied, when `rows` is 0…R-1 in order). */
function pickRows(all: Tensor, rows: readonly number[]): Tensor {
  if (rows.length === all.shape[0] && rows.every((r, i) => r === i)) return all;
  const ids = tensor(Int32Array.from(rows), [rows.length], { dtype: 'int32' });
  try {
    return embedding(all, ids);
  } finally {
    ids.dispose();
  }
}

/** Reads `t` back and frees it unless it is `keep`. */
async function readRows(t: Tensor, keep: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    if (t !== keep) t.dispose();
  }
}

/** Draws one token per row of `logits` [rows, V] on the device; reads back ids and only the asked log-probabilities. */
async function drawTokens(logits: Tensor, chunks: readonly StepChunk[]): Promise<SampledRow[]> {
  const n = Math.max(-1, ...chunks.map((c) => c.topLogprobs ?? -1));
  const out = sampleTokens(
    logits,
    chunks.map((c) => c.sample!),
    { topLogprobs: n },
  );
  try {
    // All reads submitted at once: one wait for the device, not one per output.
    const [ids, lp, topIds, topLp] = await Promise.all([
      out.ids.data(),
      out.logprob?.data(),
      out.topIds?.data(),
      out.topLogprobs?.data(),
    ]);
    return chunks.map((c, i) => {
      const k = c.topLogprobs ?? -1;
      if (k < 0) return { id: ids[i]! };
      const top = Array.from({ length: k }, (_, j) => ({ id: topIds![i * n + j]!, logprob: topLp![i * n + j]! }));
      return { id: ids[i]!, logprob: lp![i]!, top };
    });
  } finally {
    for (const t of [out.ids, out.logprob, out.topIds, out.topLogprobs]) t?.dispose();
  }
}

/**
 * The chunks' results from `all` (logits `[R, V]`, rows as `forwardPaged` lays them out): tokens drawn on the device
 * for chunks that sample, logits rows read back for those that want them. Frees `all`.
 */
export async function drawStep(all: Tensor, chunks: readonly StepChunk[], vocabSize: number): Promise<StepResult[]> {
  try {
    // Row layout of `all`: per chunk its last position, every position with allLogits, none when skipped.
    const sampled: number[] = [];
    const logitRows: number[] = [];
    let row = 0;
    for (const c of chunks) {
      const n = rowsOf(c);
      if (c.sample) sampled.push(row + n - 1);
      if (wantsLogits(c)) for (let r = 0; r < n; r++) logitRows.push(row + r);
      row += n;
    }
    const out: StepResult[] = chunks.map(() => ({}));
    if (sampled.length > 0) {
      const rows = pickRows(all, sampled);
      let tokens: SampledRow[];
      try {
        tokens = await drawTokens(
          rows,
          chunks.filter((c) => c.sample),
        );
      } finally {
        if (rows !== all) rows.dispose();
      }
      let t = 0;
      chunks.forEach((c, i) => {
        if (c.sample) out[i]!.token = tokens[t++]!;
      });
    }
    if (logitRows.length > 0) {
      const v = vocabSize;
      const flat = await readRows(pickRows(all, logitRows), all);
      let at = 0;
      chunks.forEach((c, i) => {
        if (!wantsLogits(c)) return;
        const n = c.allLogits ? c.ids.length : 1;
        out[i]!.logits = flat.subarray(at * v, (at + n) * v);
        at += n;
      });
    }
    return out;
  } finally {
    all.dispose();
  }
}
