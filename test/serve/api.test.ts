/**
 * The OpenAI API of andes-serve against a real server on 127.0.0.1 (port 0), driven by the official `openai`
 * client, on a tiny real model (random weights, trained BPE tokenizer) saved to and loaded from a directory.
 * References are independent: the model's own greedy `generate` and a full uncached forward.
 */
import { applyChatTemplate } from '@andes/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyReference, promptLogprobs, readSse } from './reference.js';
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

const messages = [
  { role: 'system' as const, content: 'You tell short stories.' },
  { role: 'user' as const, content: 'Tell me about Lily and the dog.' },
];

function chatPrompt(): number[] {
  return Array.from(applyChatTemplate(tiny.tokenizer, messages, 'chatml', { addGenerationPrompt: true }));
}

describe('chat completions', () => {
  it('greedy output equals the model’s own greedy generate, with exact usage and finish_reason', async () => {
    const prompt = chatPrompt();
    const ref = await greedyReference(tiny.model, prompt, 12, s.served.eosIds);
    expect(ref.ids.length).toBeGreaterThan(3); // a real reply, not an immediate end-of-turn
    const r = await s.client.chat.completions.create({ model: 'tiny', messages, max_tokens: 12, temperature: 0 });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('tiny');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]!.message.role).toBe('assistant');
    expect(r.choices[0]!.message.content).toBe(tiny.tokenizer.decode(ref.ids));
    expect(r.choices[0]!.finish_reason).toBe(ref.finishReason);
    expect(r.usage).toEqual({
      prompt_tokens: prompt.length,
      completion_tokens: ref.completionTokens,
      total_tokens: prompt.length + ref.completionTokens,
    });
  });

  it('streams the same text as SSE chunks ending in [DONE], with a usage chunk on request', async () => {
    const whole = await s.client.chat.completions.create({ model: 'tiny', messages, max_tokens: 10, temperature: 0 });
    const stream = await s.client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 10,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown = null;
    let roleSeen = false;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      if (c.delta.role === 'assistant') roleSeen = true;
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
    expect(roleSeen).toBe(true);
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe(whole.choices[0]!.finish_reason);
    expect(usage).toEqual(whole.usage);

    const raw = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages, max_tokens: 3, temperature: 0, stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(raw);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.slice(0, -1).every((e) => !('usage' in JSON.parse(e)))).toBe(true);
  });

  it('reports logprobs and top_logprobs equal to a full-forward log-softmax', async () => {
    const prompt = chatPrompt();
    const r = await s.client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 4,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { [String(tiny.tokenizer.eosId)]: -100 },
    });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(4);
    // The reference: greedy ids with EOS suppressed (as the bias does), scored by one uncached forward.
    const ref = await promptLogprobs(tiny.model, [...prompt, ...(await greedyIds(prompt, 4))], 3);
    const tail = ref.logprobs.slice(prompt.length - 1);
    const tops = ref.top.slice(prompt.length - 1);
    content.forEach((entry, i) => {
      expect(entry.logprob).toBeCloseTo(tail[i]!, 4);
      expect(entry.top_logprobs.map((t) => t.logprob)).toEqual(tops[i]!.map((t) => expect.closeTo(t.logprob, 4)));
      expect(entry.top_logprobs.map((t) => t.token)).toEqual(tops[i]!.map((t) => tokenText(t.id)));
    });
  });

  it('streams logprobs alongside the text, equal to the non-streamed ones', async () => {
    const req = { model: 'tiny', messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2 } as const;
    const whole = await s.client.chat.completions.create(req);
    const stream = await s.client.chat.completions.create({ ...req, stream: true });
    const content: unknown[] = [];
    let text = '';
    for await (const chunk of stream) {
      content.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(content).toEqual(whole.choices[0]!.logprobs!.content);
  });

  it('n choices with a seed are reproducible and independent', async () => {
    const ask = (seed: number) =>
      s.client.chat.completions.create({ model: 'tiny', messages, max_tokens: 8, temperature: 1, seed, n: 3 });
    const [a, b, c] = await Promise.all([ask(7), ask(7), ask(8)]);
    const texts = (r: typeof a) => r.choices.map((ch) => ch.message.content);
    expect(a.choices.map((ch) => ch.index)).toEqual([0, 1, 2]);
    expect(texts(a)).toEqual(texts(b));
    expect(texts(a)).not.toEqual(texts(c));
    expect(new Set(texts(a)).size).toBeGreaterThan(1);
    expect(a.usage!.completion_tokens).toBeLessThanOrEqual(24);
  });
});

/** Greedy ids with EOS suppressed: the reference generate with a logits bias is not available, so step by step. */
async function greedyIds(prompt: number[], n: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < n; i++) {
    const { top } = await promptLogprobs(tiny.model, [...ids, 0], 2);
    const best = top.at(-1)!;
    ids.push(best[0]!.id === tiny.tokenizer.eosId ? best[1]!.id : best[0]!.id);
  }
  return ids.slice(prompt.length);
}

/** A token's text inside a sequence (its exact bytes, leading space kept). */
function tokenText(id: number): string {
  return new TextDecoder().decode(tiny.tokenizer.tokenBytes(id, false, false) ?? new Uint8Array());
}

describe('legacy completions', () => {
  it('greedy text equals generate; streaming gives the same text', async () => {
    const prompt = 'Once upon a time';
    const ids = tiny.tokenizer.encode(prompt, { bos: true });
    const ref = await greedyReference(tiny.model, ids, 10, s.served.eosIds);
    const expected = tiny.tokenizer.decode([...ids, ...ref.ids]).slice(tiny.tokenizer.decode(ids).length);
    expect(expected.length).toBeGreaterThan(3);
    const r = await s.client.completions.create({ model: 'tiny', prompt, max_tokens: 10, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe(expected);
    expect(r.choices[0]!.finish_reason).toBe(ref.finishReason);
    expect(r.usage).toMatchObject({ prompt_tokens: ids.length, completion_tokens: ref.completionTokens });
    const stream = await s.client.completions.create({
      model: 'tiny',
      prompt,
      max_tokens: 10,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(expected);
  });

  it('echo + logprobs with max_tokens 0 and 1 returns prompt log-probabilities (first null), as lm-eval needs', async () => {
    const prompt = 'Lily saw a big dog and';
    const ids = tiny.tokenizer.encode(prompt, { bos: true });
    const ref = await promptLogprobs(tiny.model, ids, 2);
    const r0 = await s.client.completions.create({ model: 'tiny', prompt, max_tokens: 0, echo: true, logprobs: 2 });
    const lp = r0.choices[0]!.logprobs!;
    expect(r0.choices[0]!.text).toBe(prompt);
    expect(r0.choices[0]!.finish_reason).toBe('length');
    expect(r0.usage).toMatchObject({ prompt_tokens: ids.length, completion_tokens: 0 });
    expect(lp.tokens).toHaveLength(ids.length);
    expect(lp.token_logprobs![0]).toBeNull();
    expect(lp.top_logprobs![0]).toBeNull();
    for (let t = 1; t < ids.length; t++) {
      expect(lp.token_logprobs![t]).toBeCloseTo(ref.logprobs[t - 1]!, 4);
      const top = lp.top_logprobs![t]!;
      expect(Math.max(...Object.values(top))).toBeCloseTo(ref.top[t - 1]![0]!.logprob, 4);
    }
    // Token ids as the prompt (lm-eval sends tokenized requests), max_tokens 1: prompt plus one greedy token.
    const r1 = await s.client.completions.create({
      model: 'tiny',
      prompt: ids,
      max_tokens: 1,
      echo: true,
      logprobs: 1,
      temperature: 0,
    });
    const lp1 = r1.choices[0]!.logprobs!;
    expect(lp1.token_logprobs).toHaveLength(ids.length + 1);
    expect(lp1.token_logprobs!.slice(1, ids.length)).toEqual(lp.token_logprobs!.slice(1));
    expect(r1.usage).toMatchObject({ prompt_tokens: ids.length, completion_tokens: 1 });
    // Streaming echo carries the same prompt log-probabilities.
    const events = await readSse(
      await fetch(`${s.base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt, max_tokens: 0, echo: true, logprobs: 2, stream: true }),
      }),
    );
    const first = JSON.parse(events[0]!);
    expect(first.choices[0].text).toBe(prompt);
    expect(first.choices[0].logprobs.token_logprobs).toEqual(lp.token_logprobs);
  });

  it('accepts a list of prompts and indexes choices prompt-major', async () => {
    const r = await s.client.completions.create({
      model: 'tiny',
      prompt: ['The dog', 'The sun'],
      max_tokens: 3,
      temperature: 0,
      n: 2,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(r.choices[0]!.text).toBe(r.choices[1]!.text);
    const alone = await s.client.completions.create({
      model: 'tiny',
      prompt: 'The sun',
      max_tokens: 3,
      temperature: 0,
    });
    expect(r.choices[2]!.text).toBe(alone.choices[0]!.text);
  });
});
