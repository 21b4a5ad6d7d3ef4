import { DEFAULT_SAMPLING, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine.js';
import { LlamaEngine } from './llama-engine.js';
import { Scheduler, type TokenEvent } from './scheduler.js';

let model: LlamaForCausalLM;

beforeAll(async () => {
  await setBackend('cpu');
  const config = llamaConfig({
    vocab_size: 83,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    num_key_value_heads: 1,
    max_position_embeddings: 48,
    eos_token_id: 82,
    bos_token_id: 1,
  });
  model = new LlamaForCausalLM(config, { seed: 5 });
});

/** Runs four seeded sampling requests (penalties, bias, logprobs) concurrently; returns each one's token events. */
async function run(engine: Engine): Promise<TokenEvent[][]> {
  const s = new Scheduler(engine, { maxQueue: 8 });
  const settings = [
    { temperature: 0.9, topK: 7, topP: 0.9 },
    { temperature: 1.2, frequencyPenalty: 0.7, presencePenalty: -0.2 },
    { temperature: 0.6, topP: 0.5, logitBias: new Map([[11, 2]]), repetitionPenalty: 1.3 },
    { temperature: 0 },
  ];
  const events = settings.map(() => [] as TokenEvent[]);
  await Promise.all(
    settings.map(
      (over, i) =>
        new Promise<void>((done) => {
          s.submit({
            prompt: [1, 4 + i, 9, 30 + i],
            maxTokens: 14,
            sampling: { ...DEFAULT_SAMPLING, seed: 100 + i, ...over },
            eosIds: [],
            topLogprobs: i === 3 ? -1 : i,
            onToken: (ev) => {
              events[i]!.push(ev);
              return undefined;
            },
            onFinish: () => done(),
          });
        }),
    ),
  );
  return events;
}

describe('decode steps that sample on the device (LlamaEngine.decodeSampled)', () => {
  it('deliver the same tokens and log-probabilities as sampling the read-back logits on the host', async () => {
    const device = new LlamaEngine(model, { maxSlots: 4, maxContext: 48 });
    const host = new LlamaEngine(model, { maxSlots: 4, maxContext: 48 });
    // Without decodeSampled the scheduler reads every row's logits back and samples with the host Sampler.
    (host as { decodeSampled?: unknown }).decodeSampled = undefined;
    const [a, b] = [await run(device), await run(host)];
    for (let i = 0; i < a.length; i++) {
      expect(a[i]!.map((e) => e.id)).toEqual(b[i]!.map((e) => e.id));
      expect(a[i]).toHaveLength(14);
      a[i]!.forEach((e, t) => {
        const want = b[i]![t]!;
        if (want.logprob === undefined) {
          expect(e.logprob).toBeUndefined();
        } else {
          expect(e.logprob).toBeCloseTo(want.logprob, 5);
          expect(e.top!.map((x) => x.id)).toEqual(want.top!.map((x) => x.id));
        }
      });
    }
    expect(a[2]!.some((e) => e.top!.length === 2)).toBe(true);
    device.dispose();
    host.dispose();
  });
});
