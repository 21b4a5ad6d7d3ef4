/**
 * Generation controls and batching on a real server: stop strings (also split across tokens, never leaked into a
 * stream), logit_bias and penalties against a step-by-step reference, and 16 concurrent streams that each equal the
 * same request run alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyReference, promptLogprobs } from './reference.js';
import { type RunningServer, startServer, type TinyModel, tinyModel } from './tiny-model.js';

let tiny: TinyModel;
let s: RunningServer;

beforeAll(async () => {
  tiny = await tinyModel();
  s = await startServer({ maxSlots: 16 });
});
afterAll(async () => {
  await s?.close();
});

const noEos = () => ({ [String(tiny.tokenizer.eosId)]: -100 });

describe('stop strings', () => {
  it('cut the output before the stop string, in whole and in streamed responses, even across tokens', async () => {
    const prompt = 'The dog was friendly and';
    const full = await s.client.completions.create({
      model: 'tiny',
      prompt,
      max_tokens: 24,
      temperature: 0,
      logit_bias: noEos(),
    });
    const text = full.choices[0]!.text;
    expect(text.length).toBeGreaterThan(8);
    // A stop string that spans a token boundary: the last 2 characters of one token's text and the first of the
    // next, found with the streaming pieces.
    const ids = tiny.tokenizer.encode(prompt, { bos: true });
    const pieces: string[] = [];
    const dec = tiny.tokenizer.streamingDecoder();
    for (const id of ids) dec.push(id);
    const gen = await greedyReference(tiny.model, ids, 24, [-1]);
    for (const id of gen.ids) pieces.push(dec.push(id));
    let at = -1;
    let acc = 0;
    for (let i = 2; i < pieces.length - 1 && at < 0; i++) {
      acc = pieces.slice(0, i).join('').length;
      if (pieces[i - 1]!.length >= 2 && pieces[i]!.length >= 1 && acc >= 4) at = acc - 2;
    }
    expect(at).toBeGreaterThan(0);
    const stop = text.slice(at, at + 3);
    const want = text.slice(0, text.indexOf(stop));
    const cut = await s.client.completions.create({
      model: 'tiny',
      prompt,
      max_tokens: 24,
      temperature: 0,
      logit_bias: noEos(),
      stop: [stop, '\u0000never'],
    });
    expect(cut.choices[0]!.text).toBe(want);
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    const stream = await s.client.completions.create({
      model: 'tiny',
      prompt,
      max_tokens: 24,
      temperature: 0,
      logit_bias: noEos(),
      stop,
      stream: true,
    });
    let streamed = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.text ?? '';
      expect(streamed.includes(stop)).toBe(false);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(want);
    expect(finish).toBe('stop');
  });
});

describe('sampling controls', () => {
  it('logit_bias +100 forces a token under greedy decoding', async () => {
    const target = tiny.tokenizer.encode(' dog')[0]!;
    const r = await s.client.completions.create({
      model: 'tiny',
      prompt: 'Hello',
      max_tokens: 5,
      temperature: 0,
      logit_bias: { [String(target)]: 100 },
    });
    const ids = tiny.tokenizer.encode('Hello', { bos: true });
    const expected = tiny.tokenizer
      .decode([...ids, ...new Array(5).fill(target)])
      .slice(tiny.tokenizer.decode(ids).length);
    expect(r.choices[0]!.text).toBe(expected);
  });

  it('frequency and presence penalties match a step-by-step float64 reference', async () => {
    const prompt = 'Tom had a small boat';
    const ids = tiny.tokenizer.encode(prompt, { bos: true });
    const fp = 1.5;
    const pp = 0.7;
    // Reference: full forward per step, penalties subtracted from the logits of generated tokens.
    const out: number[] = [];
    for (let step = 0; step < 6; step++) {
      const { top } = await promptLogprobs(tiny.model, [...ids, ...out, 0], tiny.model.config.vocab_size);
      const ranked = top.at(-1)!;
      let best = -1;
      let bestScore = -Infinity;
      for (const { id, logprob } of ranked) {
        if (id === tiny.tokenizer.eosId) continue;
        const n = out.filter((x) => x === id).length;
        const score = logprob - fp * n - (n > 0 ? pp : 0);
        if (score > bestScore) {
          bestScore = score;
          best = id;
        }
      }
      out.push(best);
    }
    const r = await s.client.completions.create({
      model: 'tiny',
      prompt,
      max_tokens: 6,
      temperature: 0,
      frequency_penalty: fp,
      presence_penalty: pp,
      logit_bias: noEos(),
      logprobs: 0,
    });
    const expectedTokens = out.map((id) => new TextDecoder().decode(tiny.tokenizer.tokenBytes(id, false, false)!));
    expect(r.choices[0]!.logprobs!.tokens).toEqual(expectedTokens);
  });

  it('top_k 1 is greedy, and seeded sampling repeats exactly', async () => {
    const base = { model: 'tiny', prompt: 'Lily', max_tokens: 8 } as const;
    const greedy = await s.client.completions.create({ ...base, temperature: 0 });
    const k1 = await s.client.completions.create({ ...base, temperature: 1.5, top_k: 1 } as never);
    expect((k1 as typeof greedy).choices[0]!.text).toBe(greedy.choices[0]!.text);
    const a = await s.client.completions.create({ ...base, temperature: 1, top_p: 0.9, seed: 42 });
    const b = await s.client.completions.create({ ...base, temperature: 1, top_p: 0.9, seed: 42 });
    expect(a.choices[0]!.text).toBe(b.choices[0]!.text);
  });
});

describe('continuous batching', () => {
  it('16 concurrent streams complete with outputs equal to each request run alone', async () => {
    const prompts = Array.from(
      { length: 16 },
      (_, i) => `Story ${i}: ${['Lily', 'Tom', 'The dog', 'A boat'][i % 4]} was`,
    );
    const maxTokens = Array.from({ length: 16 }, (_, i) => 6 + (i % 5) * 3);
    const alone: string[] = [];
    for (let i = 0; i < 16; i++) {
      const ids = tiny.tokenizer.encode(prompts[i]!, { bos: true });
      const ref = await greedyReference(tiny.model, ids, maxTokens[i]!, s.served.eosIds);
      alone.push(tiny.tokenizer.decode([...ids, ...ref.ids]).slice(tiny.tokenizer.decode(ids).length));
    }
    const before = s.server.metrics.batchSize.observations;
    const results = await Promise.all(
      prompts.map(async (prompt, i) => {
        const stream = await s.client.completions.create({
          model: 'tiny',
          prompt,
          max_tokens: maxTokens[i]!,
          temperature: 0,
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
        return text;
      }),
    );
    expect(new Set(alone).size).toBeGreaterThan(8); // distinct outputs, so a mix-up between streams would show
    expect(results).toEqual(alone);
    expect(s.server.metrics.batchSize.observations).toBeGreaterThan(before);
    // Batching happened: some decode steps ran more than one sequence.
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    const le1 = Number(/andes_decode_batch_size_bucket\{le="1"\} (\d+)/.exec(metrics)![1]);
    const total = Number(/andes_decode_batch_size_count (\d+)/.exec(metrics)![1]);
    expect(total).toBeGreaterThan(le1);
    expect(s.server.scheduler()!.runningCount).toBe(0);
  });
});
