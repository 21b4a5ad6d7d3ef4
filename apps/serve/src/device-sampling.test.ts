import { DEFAULT_SAMPLING, LlamaForCausalLM, llamaConfig, tokenLogprobs } from '@andes/nn';
import { sampleTokenRow, setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, StepResult } from './engine.js';
import { LlamaEngine } from './llama-engine.js';
import { type PromptLogprob, Scheduler, type TokenEvent } from './scheduler.js';

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

/**
 * The reference: the same engine with every chunk's `sample` taken off, so each step reads its logits rows back and
 * the token is drawn on the host by the op's float64 reference (`sampleTokenRow`) with the same settings and uniform.
 */
function hostSampling(engine: LlamaEngine): Engine {
  const step = engine.step.bind(engine);
  engine.step = async (chunks) => {
    const plain = chunks.map(({ sample: _s, topLogprobs: _k, ...c }) => c);
    const results = await step(plain);
    return results.map((r, i): StepResult => {
      const c = chunks[i]!;
      if (!c.sample) return r;
      const v = engine.vocabSize;
      const last = r.logits!.subarray(r.logits!.length - v);
      const id = sampleTokenRow(last, c.sample);
      const k = c.topLogprobs ?? -1;
      const token = k >= 0 ? { id, ...tokenLogprobs(last, id, k) } : { id };
      return { token, logits: c.allLogits ? r.logits : undefined };
    });
  };
  return engine;
}

interface Run {
  events: TokenEvent[][];
  prompts: PromptLogprob[][];
  steps: number;
}

/**
 * Runs five seeded requests (penalties, bias, logprobs, prompt logprobs) concurrently with a small prefill budget,
 * so steps mix decodes with chunks of a longer prompt; returns each one's token events.
 */
async function run(engine: Engine): Promise<Run> {
  const s = new Scheduler(engine, { maxQueue: 8, prefillChunk: 5 });
  const settings = [
    { temperature: 0.9, topK: 7, topP: 0.9 },
    { temperature: 1.2, frequencyPenalty: 0.7, presencePenalty: -0.2 },
    { temperature: 0.6, topP: 0.5, logitBias: new Map([[11, 2]]), repetitionPenalty: 1.3 },
    { temperature: 0 },
    { temperature: 1.1, topK: 20 },
  ];
  const out: Run = { events: settings.map(() => []), prompts: settings.map(() => []), steps: 0 };
  const step = engine.step.bind(engine);
  engine.step = (chunks) => {
    out.steps++;
    return step(chunks);
  };
  await Promise.all(
    settings.map(
      (over, i) =>
        new Promise<void>((done) => {
          s.submit({
            // The last prompt is long (chunked over several steps) and asks for prompt log-probabilities.
            prompt: i === 4 ? [1, 3, 8, 13, 21, 34, 55, 6, 7, 9, 10, 12, 14] : [1, 4 + i, 9, 30 + i],
            maxTokens: 14,
            sampling: { ...DEFAULT_SAMPLING, seed: 100 + i, ...over },
            eosIds: [],
            topLogprobs: i === 3 ? -1 : i % 4,
            promptLogprobs: i === 4,
            onPromptLogprobs: (entries) => {
              out.prompts[i] = entries;
            },
            onToken: (ev) => {
              out.events[i]!.push(ev);
              return undefined;
            },
            onFinish: () => done(),
          });
        }),
    ),
  );
  return out;
}

describe('engine steps that sample on the device (StepChunk.sample)', () => {
  it('deliver the same tokens and log-probabilities as drawing from the read-back logits on the host', async () => {
    const device = new LlamaEngine(model, { maxSlots: 5, maxContext: 48, blockSize: 4 });
    const host = hostSampling(new LlamaEngine(model, { maxSlots: 5, maxContext: 48, blockSize: 4 }));
    const [a, b] = [await run(device), await run(host)];
    expect(a.steps).toBeGreaterThan(14);
    for (let i = 0; i < a.events.length; i++) {
      expect(a.events[i]!.map((e) => e.id)).toEqual(b.events[i]!.map((e) => e.id));
      expect(a.events[i]).toHaveLength(14);
      a.events[i]!.forEach((e, t) => {
        const want = b.events[i]![t]!;
        if (want.logprob === undefined) {
          expect(e.logprob).toBeUndefined();
        } else {
          expect(e.logprob).toBeCloseTo(want.logprob, 5);
          expect(e.top!.map((x) => x.id)).toEqual(want.top!.map((x) => x.id));
        }
      });
    }
    // Sampling settings really differ per row: the seeded rows do not all repeat the greedy row.
    expect(new Set(a.events.map((ev) => ev.map((e) => e.id).join(','))).size).toBe(5);
    expect(a.events[2]!.every((e) => e.top!.length === 2)).toBe(true);
    expect(a.prompts[4]).toHaveLength(12);
    a.prompts[4]!.forEach((p, t) => {
      expect(p.logprob).toBeCloseTo(b.prompts[4]![t]!.logprob, 5);
    });
    device.dispose();
    (host as LlamaEngine).dispose();
  });
});
