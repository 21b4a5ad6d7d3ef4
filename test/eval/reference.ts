/**
 * Independent reference for evaluation tests: a model directory loaded directly, one plain unbatched forward per
 * sequence, and a float64 log-softmax on the host.
 */
import { type LoadedModelDir, loadModelDir } from '@andes/checkpoint';
import { LlamaForCausalLM } from '@andes/nn';
import { tensor } from '@andes/tensor';

/** A loaded model with float64 scoring helpers. */
export interface ReferenceModel {
  model: LlamaForCausalLM;
  tokenizer: NonNullable<LoadedModelDir['tokenizer']>;
  maxPositions: number;
  /** log P(tokens[i+1] | tokens[0..i]) for every i, in float64. */
  logprobs(tokens: number[]): Promise<number[]>;
  /** The harness's loglikelihood of `continuation` after BOS + `context`, with its greediness. */
  loglikelihood(context: string, continuation: string): Promise<{ logprob: number; isGreedy: boolean }>;
}

/** Loads `dir` for reference computations. */
export async function referenceModel(dir: string): Promise<ReferenceModel> {
  const loaded = await loadModelDir(dir);
  const model = new LlamaForCausalLM(loaded.config);
  model.loadStateDict(loaded.tensors);
  const tokenizer = loaded.tokenizer!;
  const vocab = loaded.config.vocab_size;
  const maxPositions = loaded.config.max_position_embeddings;
  const rows = async (tokens: number[]) => {
    const input = tokens.slice(0, -1);
    const logits = model.forward(tensor(Int32Array.from(input), [1, input.length], { dtype: 'int32' }));
    const data = Float64Array.from(await logits.data());
    logits.dispose();
    return input.map((_, i) => data.subarray(i * vocab, (i + 1) * vocab));
  };
  const logprobs = async (tokens: number[]) =>
    (await rows(tokens)).map((row, i) => {
      const max = Math.max(...row);
      return row[tokens[i + 1]!]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    });
  return {
    model,
    tokenizer,
    maxPositions,
    logprobs,
    async loglikelihood(context, continuation) {
      // The harness's _encode_pair: trailing context whitespace moves to the continuation.
      const ctx = context.trimEnd();
      const cont = context.slice(ctx.length) + continuation;
      const ctxIds = [tokenizer.bosId, ...tokenizer.encode(ctx)];
      let whole = [tokenizer.bosId, ...tokenizer.encode(ctx + cont)];
      const n = whole.length - ctxIds.length;
      whole = whole.slice(Math.max(0, whole.length - maxPositions - 1));
      const all = await rows(whole);
      let logprob = 0;
      let isGreedy = true;
      for (let i = all.length - n; i < all.length; i++) {
        const row = all[i]!;
        const max = Math.max(...row);
        logprob += row[whole[i + 1]!]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        if (row.indexOf(max) !== whole[i + 1]) isGreedy = false;
      }
      return { logprob, isGreedy };
    },
  };
}
