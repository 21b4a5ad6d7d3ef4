import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { setBackend, tensor, zeros } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvalTokenizer } from './local-model.js';
import { LocalModel } from './local-model.js';
import { evaluatePerplexity } from './perplexity.js';
import { sharedContextGroups } from './prefix-scorer.js';

// A character-level tokenizer: BOS 1, EOS 2, characters of ALPHABET from 3. Deterministic and easy to reason about.
const ALPHABET = ' abcdefghijklmnopqrstuvwxyzé.';
const charTokenizer = {
  bosId: 1,
  encode: (text: string, options?: { bos?: boolean }): number[] => [
    ...(options?.bos ? [1] : []),
    ...[...text].map((c) => 3 + ALPHABET.indexOf(c)),
  ],
  decode: (ids: ArrayLike<number>) => Array.from(ids, (id) => (id >= 3 ? ALPHABET[id - 3] : '')).join(''),
} satisfies EvalTokenizer;
const VOCAB = 3 + ALPHABET.length;
const MAX_POSITIONS = 16;

function tinyModel(seed: number): LlamaForCausalLM {
  const config = llamaConfig({
    vocab_size: VOCAB,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: MAX_POSITIONS,
    initializer_range: 0.5,
    bos_token_id: 1,
    eos_token_id: 2,
  });
  return new LlamaForCausalLM(config, { seed });
}

/** Float64 log-softmax of one plain, unbatched forward: log P(tokens[i+1] | tokens[0..i]) for every i. */
async function referenceLogprobs(model: LlamaForCausalLM, tokens: number[]): Promise<number[]> {
  const logits = model.forward(
    tensor(Int32Array.from(tokens.slice(0, -1)), [1, tokens.length - 1], { dtype: 'int32' }),
  );
  const data = Float64Array.from(await logits.data());
  logits.dispose();
  return tokens.slice(1).map((target, i) => {
    const row = data.subarray(i * VOCAB, (i + 1) * VOCAB);
    const max = Math.max(...row);
    return row[target]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  });
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe('LocalModel.loglikelihood', () => {
  it('equals the sum of float64 log-softmaxes of a plain forward over BOS + context + continuation', async () => {
    const model = tinyModel(1);
    const local = new LocalModel(model, charTokenizer, MAX_POSITIONS, { batchSize: 3 });
    const requests = [
      { context: 'the cat', continuation: ' sat' },
      { context: 'the cat', continuation: ' s' }, // input is a prefix of the request above: shares its row
      { context: 'the cat', continuation: ' x' },
      { context: 'a dog ', continuation: 'ran.' }, // trailing space moves to the continuation
      { context: '', continuation: 'hello' },
      { context: 'x', continuation: ' y' },
      { context: 'a long context that needs truncation', continuation: ' ok' }, // 37 + 3 tokens > 16
    ];
    // Both scoring paths are exercised: a shared-context group (the 'the cat' choices) and batched rows.
    expect(sharedContextGroups(local.tokenRequests(requests))).toEqual([[0, 1, 2]]);
    const got = await local.loglikelihood(requests);
    for (const [i, r] of requests.entries()) {
      const ctx = r.context.trimEnd();
      const cont = r.context.slice(ctx.length) + r.continuation;
      let tokens = [1, ...charTokenizer.encode(ctx + cont)];
      tokens = tokens.slice(Math.max(0, tokens.length - MAX_POSITIONS - 1));
      const lps = await referenceLogprobs(model, tokens);
      const expected = lps.slice(lps.length - cont.length).reduce((a, b) => a + b, 0);
      expect(got[i]!.logprob).toBeCloseTo(expected, 4);
    }
  });

  it('reports isGreedy exactly when every continuation token is the argmax', async () => {
    const model = tinyModel(2);
    const local = new LocalModel(model, charTokenizer, MAX_POSITIONS);
    // Greedy path from the reference forward; ids outside the alphabet (0, 1, 2) end it early.
    const tokens = [1, ...charTokenizer.encode('ab')];
    while (tokens.length < 7) {
      const logits = model.forward(tensor(Int32Array.from(tokens), [1, tokens.length], { dtype: 'int32' }));
      const data = Array.from(await logits.data()).slice((tokens.length - 1) * VOCAB);
      logits.dispose();
      const next = data.indexOf(Math.max(...data));
      if (next < 3) break;
      tokens.push(next);
    }
    const greedy = charTokenizer.decode(tokens.slice(3));
    expect(greedy.length).toBeGreaterThan(0);
    const other = ALPHABET[(ALPHABET.indexOf(greedy[0]!) + 1) % ALPHABET.length]!;
    const [a, b] = await local.loglikelihood([
      { context: 'ab', continuation: greedy },
      { context: 'ab', continuation: other + greedy.slice(1) },
    ]);
    expect(a!.isGreedy).toBe(true);
    expect(b!.isGreedy).toBe(false);
    // Generation follows the same greedy path.
    expect(await local.generate(['ab'], { until: ['zzzz'], maxTokens: greedy.length })).toEqual([greedy]);
  });
});

describe('LocalModel.loglikelihoodRolling', () => {
  const text = 'the quick brown fox jumps over the lazy dog.';

  it('scores every token once, each from its window context, for disjoint and sliding windows', async () => {
    const model = tinyModel(3);
    const local = new LocalModel(model, charTokenizer, MAX_POSITIONS, { batchSize: 4 });
    const ids = charTokenizer.encode(text);
    const n = ids.length;
    for (const [L, stride] of [
      [16, 16],
      [8, 8],
      [8, 3],
      [5, 1],
    ] as const) {
      // Spec: tokens before L see [BOS, t0 … t(i-1)]. Later tokens are predicted in groups of `stride`
      // (the last group may be shorter), each group read from the L tokens that end just before the group's last target.
      let expected = 0;
      for (let i = 0; i < Math.min(L, n); i++)
        expected += (await referenceLogprobs(model, [1, ...ids.slice(0, i + 1)]))[i]!;
      for (let start = L; start < n; start += stride) {
        const end = Math.min(n, start + stride);
        const window = ids.slice(end - 1 - L, end);
        const lps = await referenceLogprobs(model, window);
        expected += lps.slice(lps.length - (end - start)).reduce((a, b) => a + b, 0);
      }
      const [got] = await local.loglikelihoodRolling([text], { maxLength: L, stride });
      expect(got!.tokens).toBe(n);
      expect(got!.logprob).toBeCloseTo(expected, 3);
    }
  });

  it('gives bits per byte = log2(vocab) × tokens / bytes for a uniform model (zero lm_head)', async () => {
    const model = tinyModel(4);
    model.lmHead!.weight.assign(zeros([VOCAB, 32]));
    const local = new LocalModel(model, charTokenizer, MAX_POSITIONS);
    const docs = [text, 'é é é', 'abc'];
    const result = await evaluatePerplexity(local, docs, { maxLength: 8 });
    const tokens = docs.reduce((s, d) => s + [...d].length, 0);
    const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
    expect(result.tokens).toBe(tokens);
    expect(result.bytes).toBe(bytes);
    expect(bytes).toBeGreaterThan(tokens);
    expect(result.bitsPerByte).toBeCloseTo((Math.log2(VOCAB) * tokens) / bytes, 5);
    expect(result.tokenPerplexity).toBeCloseTo(VOCAB, 3);
  });
});
