/**
 * Every error the API promises, as OpenAI-style bodies, and that malformed requests do not disturb a running
 * stream: invalid JSON, wrong types, prompt over the context, 401, 404, 413, 429, plus health/models/tokenize/metrics.
 */

import { createServer } from '@andes/serve';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServedModel, type RunningServer, startServer, type TinyModel, tinyModel } from './tiny-model.js';

let tiny: TinyModel;
let s: RunningServer;

beforeAll(async () => {
  tiny = await tinyModel();
  s = await startServer({ maxSlots: 4, bodyLimit: 64 * 1024 });
});
afterAll(async () => {
  await s?.close();
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
}

function expectErrorBody(body: { error: Record<string, unknown> }): void {
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, ...extra });

describe('errors', () => {
  it('400 for invalid JSON, wrong types, bad values and missing fields', async () => {
    for (const [body, param] of [
      ['{"model": "tiny", "messages": [', null],
      [chat({ temperature: 'hot' }), 'temperature'],
      [chat({ max_tokens: 1.5 }), 'max_tokens'],
      [chat({ n: 0 }), 'n'],
      [chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
      [chat({ messages: [{ role: 'wizard', content: 'x' }] }), 'messages.0.role'],
      [chat({ messages: 'hello' }), 'messages'],
      [chat({ logit_bias: { '999999': 5 } }), 'logit_bias'],
      [JSON.stringify({ model: 'tiny' }), 'messages'],
      [JSON.stringify({ model: 'tiny', prompt: [[]] }), 'prompt'],
    ] as const) {
      const path = body.includes('"prompt"') ? '/v1/completions' : '/v1/chat/completions';
      const r = await post(path, body);
      expect(r.status, body).toBe(400);
      expectErrorBody(r.body);
      expect(r.body.error.type).toBe('invalid_request_error');
      if (param) expect(r.body.error.param, body).toBe(param);
    }
  });

  it('400 (not 500) for a conversation the chat template rejects', async () => {
    // The llama-2 template requires user/assistant alternation; serve the same model with it.
    const llama2 = createServer({
      load: async () =>
        createServedModel({
          id: 'tiny',
          model: tiny.model,
          tokenizer: tiny.tokenizer,
          template: 'llama-2',
          maxSlots: 1,
        }),
    });
    const base = await llama2.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await llama2.loaded;
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chat({
          messages: [
            { role: 'assistant', content: 'first' },
            { role: 'assistant', content: 'again' },
          ],
        }),
      });
      expect(res.status).toBe(400);
      const body = await res.json();
      expectErrorBody(body);
      expect(body.error.param).toBe('messages');
    } finally {
      await llama2.shutdown(100);
    }
  });

  it('400 context_length_exceeded for a prompt longer than the context', async () => {
    const context = s.served.engine.maxContext;
    const r = await post('/v1/completions', JSON.stringify({ model: 'tiny', prompt: new Array(context + 1).fill(5) }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('context_length_exceeded');
    await expect(
      s.client.completions.create({ model: 'tiny', prompt: new Array(context).fill(5), max_tokens: 1 }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('404 for an unknown model (through the openai client) and an unknown route', async () => {
    const err = await s.client.chat.completions
      .create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const res = await fetch(`${s.base}/v1/nothing`);
    expect(res.status).toBe(404);
    expectErrorBody(await res.json());
  });

  it('413 for an oversized body', async () => {
    const r = await post('/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'x'.repeat(70_000) }] }));
    expect(r.status).toBe(413);
    expectErrorBody(r.body);
  });

  it('malformed requests do not disturb a running stream', async () => {
    const alone = await s.client.completions.create({ model: 'tiny', prompt: 'Lily', max_tokens: 20, temperature: 0 });
    const streaming = (async () => {
      const stream = await s.client.completions.create({
        model: 'tiny',
        prompt: 'Lily',
        max_tokens: 20,
        temperature: 0,
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      return text;
    })();
    const junk = await Promise.all([
      post('/v1/chat/completions', '{{{{'),
      post('/v1/completions', JSON.stringify({ model: 'tiny', prompt: [999999] })),
      post('/v1/completions', JSON.stringify({ model: 'tiny', prompt: 'x', logprobs: -1 })),
      post('/v1/chat/completions', chat({ messages: [{ role: 'user', content: [{ type: 'image_url' }] }] })),
      post('/v1/chat/completions', 'null'),
      post('/tokenize', '[]'),
    ]);
    for (const j of junk) expect(j.status).toBe(400);
    expect(await streaming).toBe(alone.choices[0]!.text);
  });
});

describe('auth and queue limits', () => {
  it('401 without a valid key when --api-key is set', async () => {
    const locked = await startServer({ maxSlots: 1, apiKey: 'sekrit' });
    try {
      const bad = new OpenAI({ baseURL: `${locked.base}/v1`, apiKey: 'wrong', maxRetries: 0 });
      await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const none = await fetch(`${locked.base}/v1/models`);
      expect(none.status).toBe(401);
      expectErrorBody(await none.json());
      expect((await locked.client.models.list()).data[0]!.id).toBe('tiny');
      expect((await fetch(`${locked.base}/health`)).status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('429 when the queue is full; a disconnected client frees its slot at once', async () => {
    const q = await startServer({ maxSlots: 1, maxQueue: 1 });
    // Hold decoding at a gate (the real engine, paused) so the slot and queue states are deterministic.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const engine = q.served.engine;
    // Decode steps (one token per sequence, after its prompt) wait at the gate; prefills go through.
    const step = engine.step.bind(engine);
    engine.step = async (chunks) => {
      if (chunks.every((c) => c.ids.length === 1 && c.start > 0)) await gate;
      return step(chunks);
    };
    try {
      const long = { model: 'tiny', prompt: 'Lily', max_tokens: 40, temperature: 0 };
      const abort = new AbortController();
      const first = await fetch(`${q.base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...long, stream: true }),
        signal: abort.signal,
      });
      expect(first.status).toBe(200);
      await expect.poll(() => q.server.scheduler()!.runningCount).toBe(1);
      const queued = q.client.completions.create({ ...long, max_tokens: 3 });
      queued.catch(() => {});
      await expect.poll(() => q.server.scheduler()!.queueDepth).toBe(1);
      const err = await q.client.completions.create({ ...long, max_tokens: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).error).toMatchObject({ code: 'queue_full' });
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1');
      abort.abort();
      await new Promise((r) => setTimeout(r, 50)); // the server sees the socket close
      open();
      // The cancelled stream frees the slot: the queued request runs and finishes.
      const done = await queued;
      expect(done.usage!.completion_tokens).toBeGreaterThan(0);
      const metrics = await (await fetch(`${q.base}/metrics`)).text();
      expect(metrics).toMatch(/andes_sequences_finished_total\{reason="cancelled"\} 1/);
      expect(metrics).toMatch(/andes_requests_total\{endpoint="\/v1\/completions",status="429"\} 1/);
      expect(q.server.scheduler()!.runningCount).toBe(0);
    } finally {
      open();
      await q.close();
    }
  });
});

describe('disconnects', () => {
  it('a non-streaming client that disconnects cancels its generation and frees the slot', async () => {
    const q = await startServer({ maxSlots: 1 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const engine = q.served.engine;
    // Decode steps (one token per sequence, after its prompt) wait at the gate; prefills go through.
    const step = engine.step.bind(engine);
    engine.step = async (chunks) => {
      if (chunks.every((c) => c.ids.length === 1 && c.start > 0)) await gate;
      return step(chunks);
    };
    try {
      const abort = new AbortController();
      const pending = fetch(`${q.base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'Lily', max_tokens: 40, temperature: 0 }),
        signal: abort.signal,
      }).catch((e: unknown) => e);
      await expect.poll(() => q.server.scheduler()!.runningCount).toBe(1);
      abort.abort();
      await pending;
      await new Promise((r) => setTimeout(r, 50));
      open();
      await expect.poll(() => q.server.scheduler()!.runningCount).toBe(0);
      const metrics = await (await fetch(`${q.base}/metrics`)).text();
      expect(metrics).toMatch(/andes_sequences_finished_total\{reason="cancelled"\} 1/);
      // The slot is free for the next request.
      const next = await q.client.completions.create({ model: 'tiny', prompt: 'Tom', max_tokens: 2, temperature: 0 });
      expect(next.usage!.completion_tokens).toBeGreaterThan(0);
    } finally {
      open();
      await q.close();
    }
  });
});

describe('info endpoints', () => {
  it('health, models, tokenize/detokenize and metrics', async () => {
    expect(await (await fetch(`${s.base}/health`)).json()).toEqual({ status: 'ok' });
    const models = await s.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
    const text = 'The sun was hot, café!';
    const tok = await (
      await fetch(`${s.base}/tokenize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: text }),
      })
    ).json();
    expect(tok.tokens).toEqual(tiny.tokenizer.encode(text, { bos: true }));
    const detok = await (
      await fetch(`${s.base}/detokenize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tokens: tok.tokens }),
      })
    ).json();
    expect(detok.prompt).toBe(text);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    for (const name of [
      'andes_requests_total',
      'andes_prompt_tokens_total',
      'andes_generation_tokens_total',
      'andes_queue_depth',
      'andes_batch_occupancy',
      'andes_time_to_first_token_seconds_bucket',
      'andes_inter_token_latency_seconds_bucket',
    ]) {
      expect(metrics).toContain(name);
    }
  });
});
