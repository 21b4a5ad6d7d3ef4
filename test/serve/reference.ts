/** Independent references for the serve tests: the model's own greedy `generate` and a full-forward log-softmax. */
import { generateIds, type LlamaForCausalLM } from '@andes/nn';
import { noGrad, tensor } from '@andes/tensor';

/** Greedy output of `generate` (EOS not included) plus what the API must report for it. */
export async function greedyReference(
  model: LlamaForCausalLM,
  prompt: readonly number[],
  maxTokens: number,
  eosIds: readonly number[],
): Promise<{ ids: number[]; finishReason: 'stop' | 'length'; completionTokens: number }> {
  const ids = await generateIds(model, prompt, { maxNewTokens: maxTokens, temperature: 0, stop: eosIds });
  const stopped = ids.length < maxTokens;
  return { ids, finishReason: stopped ? 'stop' : 'length', completionTokens: stopped ? ids.length + 1 : ids.length };
}

/** log p(ids[t] | ids[<t]) for t ≥ 1 and each position's top-k ids, from one uncached forward in float64. */
export async function promptLogprobs(
  model: LlamaForCausalLM,
  ids: readonly number[],
  k: number,
): Promise<{ logprobs: number[]; top: { id: number; logprob: number }[][] }> {
  const v = model.config.vocab_size;
  const logits = await noGrad(async () => {
    const out = model.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' }));
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  });
  const logprobs: number[] = [];
  const top: { id: number; logprob: number }[][] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = Array.from(logits.subarray(t * v, (t + 1) * v));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    logprobs.push(row[ids[t + 1]!]! - lse);
    top.push(
      row
        .map((x, i) => [x, i] as const)
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, k)
        .map(([x, i]) => ({ id: i, logprob: x - lse })),
    );
  }
  return { logprobs, top };
}

/** Reads an SSE body fully: the `data:` payloads in order (including the final `[DONE]`). */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}
