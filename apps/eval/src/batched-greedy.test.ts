import { generateIds, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedyBatch } from './batched-greedy.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const config = llamaConfig({
  vocab_size: 23,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  initializer_range: 0.5,
  bos_token_id: 1,
  eos_token_id: 2,
});

describe('greedyBatch', () => {
  it('gives each prompt the tokens of decoding it alone (nn generate, temperature 0), across slot chunks', async () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const prompts = [[1, 5, 6, 7], [1], [1, 9, 9, 9, 9, 9, 9, 3], [1, 4, 8], [1, 20, 21, 22, 3, 3]];
    const alone = await Promise.all(prompts.map((p) => generateIds(model, p, { maxNewTokens: 9, temperature: 0 })));
    const progress: number[] = [];
    const together = await greedyBatch(model, prompts, {
      maxNewTokens: 9,
      slots: 2,
      onProgress: (d) => progress.push(d),
    });
    expect(together).toEqual(alone);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    // Some prompt runs to the limit, so the comparison covers several batched decoding steps.
    expect(Math.max(...together.map((t) => t.length))).toBe(9);
  });

  it('stops a prompt when the stop callback says so, keeping the token that triggered it', async () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const prompts = [
      [1, 5, 6, 7],
      [1, 4, 8],
    ];
    const full = await greedyBatch(model, prompts, { maxNewTokens: 9 });
    const cut = await greedyBatch(model, prompts, { maxNewTokens: 9, stop: (i, out) => i === 0 && out.length === 3 });
    expect(cut[0]).toEqual(full[0]!.slice(0, 3));
    expect(cut[1]).toEqual(full[1]);
  });
});
