/**
 * A server survives any request: bodies that fast-check builds from the OpenAI request fields, each holding a
 * plausible value or any JSON value at all, whole JSON values of any shape, and strings that are mostly not JSON,
 * sent to every POST endpoint. Each gets a 2xx (a stream that ends with `[DONE]`, or JSON) or a 4xx with an
 * OpenAI-style error body, never a 5xx or a dropped connection; afterwards the server still answers, with no
 * sequence running or queued and no KV block held. Then any method on known and random paths, with random queries,
 * headers and bodies: never a 5xx, every refusal an error body. A fixed seed keeps CI deterministic;
 * `ANDES_FUZZ_SEED` and `ANDES_FUZZ_RUNS` explore further.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './tiny-model.js';

let s: RunningServer;

beforeAll(async () => {
  s = await startServer({ maxSlots: 4, maxQueue: 8, bodyLimit: 16 * 1024 });
});
afterAll(async () => {
  await s?.close();
});

/** A field's value: usually one of `plausible`, sometimes any JSON value. */
const field = <T>(plausible: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const tokenIds = fc.array(fc.integer({ min: -3, max: 500 }), { maxLength: 12 });
const text = fc.string({ maxLength: 24, unit: 'binary' });

/** The fields of chat and legacy completions requests, each with its values. */
const fields = {
  model: field(fc.constantFrom('tiny', 'gpt-4', '')),
  messages: field(
    fc.array(
      fc.record(
        { role: field(fc.constantFrom('system', 'user', 'assistant', 'tool', 'wizard')), content: field(text) },
        { requiredKeys: [] },
      ),
      { maxLength: 4 },
    ),
  ),
  prompt: field(fc.oneof(text, fc.array(text, { maxLength: 3 }), tokenIds, fc.array(tokenIds, { maxLength: 3 }))),
  max_tokens: field(fc.oneof(fc.integer({ min: -2, max: 6 }), fc.double({ min: -1, max: 8 }))),
  max_completion_tokens: field(fc.integer({ min: -1, max: 6 })),
  temperature: field(fc.double({ min: -1, max: 3 })),
  top_p: field(fc.double({ min: -0.5, max: 1.5 })),
  top_k: field(fc.integer({ min: -2, max: 50 })),
  n: field(fc.integer({ min: -1, max: 3 })),
  stop: field(fc.oneof(text, fc.array(text, { maxLength: 6 }))),
  stream: field(fc.boolean()),
  stream_options: field(fc.record({ include_usage: field(fc.boolean()) }, { requiredKeys: [] })),
  logprobs: field(fc.oneof(fc.boolean(), fc.integer({ min: -1, max: 25 }))),
  top_logprobs: field(fc.integer({ min: -1, max: 25 })),
  echo: field(fc.boolean()),
  logit_bias: field(fc.dictionary(fc.oneof(fc.integer({ min: -1, max: 600 }).map(String), text), field(fc.double()))),
  presence_penalty: field(fc.double({ min: -3, max: 3 })),
  frequency_penalty: field(fc.double({ min: -3, max: 3 })),
  repetition_penalty: field(fc.double({ min: -1, max: 3 })),
  seed: field(fc.oneof(fc.integer(), fc.double())),
  user: field(text),
  response_format: field(fc.record({ type: field(fc.constantFrom('text', 'json_object')) }, { requiredKeys: [] })),
};
/** Request bodies of any subset of those fields. */
const requestBody = fc.record(fields, { requiredKeys: [] });

/** A valid request for `p` (the fields each endpoint needs), for the random fields to be laid over. */
const validBase = (p: string) =>
  p === '/v1/chat/completions'
    ? fc.record({
        model: fc.constant('tiny'),
        messages: fc.array(fc.record({ role: fc.constantFrom('system', 'user'), content: text }), {
          minLength: 1,
          maxLength: 3,
        }),
        max_tokens: fc.integer({ min: 1, max: 5 }),
      })
    : p === '/v1/completions'
      ? fc.record({
          model: fc.constant('tiny'),
          prompt: fc.oneof(text, tokenIds),
          max_tokens: fc.integer({ min: 1, max: 5 }),
        })
      : p === '/tokenize'
        ? fc.record({ model: fc.constant('tiny'), prompt: text })
        : fc.record({ model: fc.constant('tiny'), tokens: tokenIds });

/**
 * Raw bodies for `p`: a valid request with a few random fields laid over it (streamed or not), a request of random
 * fields alone, any JSON value, or a string that is mostly not JSON.
 */
const bodyFor = (p: string) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(validBase(p), fc.record(fields), fc.shuffledSubarray(Object.keys(fields), { maxLength: 3 }))
        .map(([base, extra, keys]) =>
          JSON.stringify({ ...base, ...Object.fromEntries(keys.map((k) => [k, extra[k as keyof typeof extra]])) }),
        ),
    },
    // Streams too, where most errors come mid-response rather than before it.
    {
      weight: 3,
      arbitrary: fc
        .tuple(validBase(p), fc.record(fields), fc.shuffledSubarray(Object.keys(fields), { maxLength: 2 }))
        .map(([base, extra, keys]) =>
          JSON.stringify({
            ...base,
            ...Object.fromEntries(keys.map((k) => [k, extra[k as keyof typeof extra]])),
            stream: true,
          }),
        ),
    },
    { weight: 3, arbitrary: requestBody.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
  );
const request = fc
  .constantFrom('/v1/chat/completions', '/v1/completions', '/tokenize', '/detokenize')
  .chain((p) => bodyFor(p).map((b) => [p, b] as const));

/** What a request got back: the status, content type and whole body. */
async function send(p: string, b: string) {
  const res = await fetch(`${s.base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: b,
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Gauge `name`'s value in the Prometheus text of `/metrics`. */
function gauge(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`/metrics has no ${name}`);
  return Number(line.split(' ')[1]);
}

describe('any request', () => {
  it('gets a 2xx or a 4xx with an OpenAI error body, never a 5xx; the server keeps serving', async () => {
    const statuses = new Map<number, number>();
    let streams = 0;
    await fc.assert(
      fc.asyncProperty(request, async ([p, b]) => {
        const r = await send(p, b);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const what = `POST ${p} ${b.slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)}`;
        expect(r.status, what).toBeGreaterThanOrEqual(200);
        expect(r.status, what).toBeLessThan(500);
        if (r.status >= 400) {
          const err = JSON.parse(r.text) as { error: Record<string, unknown> };
          expect(Object.keys(err.error).sort(), what).toEqual(['code', 'message', 'param', 'type']);
          expect(typeof err.error.message, what).toBe('string');
        } else if (r.type.startsWith('text/event-stream')) {
          streams++;
          expect(r.text.endsWith('data: [DONE]\n\n'), what).toBe(true);
          // Every event but the last is one JSON object (a chunk, or an error met mid-stream).
          const events = r.text.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]');
          for (const e of events) expect(() => JSON.parse(e.slice(6)), what).not.toThrow();
        } else expect(() => JSON.parse(r.text), what).not.toThrow();
      }),
      { numRuns: Number(process.env.ANDES_FUZZ_RUNS ?? 250), seed: Number(process.env.ANDES_FUZZ_SEED ?? 20261206) },
    );
    // The sample reached the model as well as the validation: both successes and refusals occurred.
    if (process.env.ANDES_FUZZ_RUNS) console.log({ ...Object.fromEntries(statuses), streams });
    const ok = [...statuses].filter(([k]) => k < 300).reduce((n, [, v]) => n + v, 0);
    const refused = [...statuses].filter(([k]) => k >= 400).reduce((n, [, v]) => n + v, 0);
    expect(ok).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
    expect(streams).toBeGreaterThan(0);

    const health = await fetch(`${s.base}/health`);
    expect(health.status).toBe(200);
    const chat = await s.client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 4,
    });
    expect(chat.choices[0]!.finish_reason).toBe('length');
    expect(chat.usage!.completion_tokens).toBe(4);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(gauge(metrics, 'andes_queue_depth')).toBe(0);
    expect(gauge(metrics, 'andes_batch_occupancy')).toBe(0);
    expect(gauge(metrics, 'andes_kv_blocks_used')).toBe(0);
  }, 240_000);

  it('any method, path, query and headers: never a 5xx, every refusal an OpenAI error body', async () => {
    const known = ['/v1/models', '/v1/chat/completions', '/v1/completions', '/tokenize', '/detokenize'];
    const probe = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      path: fc.oneof(
        fc.constantFrom(...known, '/health', '/ready', '/metrics', '/'),
        fc.constantFrom(...known).map((p) => `${p}/extra`),
        fc.webPath(),
      ),
      query: fc.option(fc.webQueryParameters(), { nil: undefined }),
      headers: fc.dictionary(
        fc.constantFrom('authorization', 'content-type', 'accept', 'x-request-id', 'x-api-key', 'accept-encoding'),
        fc.string({ maxLength: 30 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
        { maxKeys: 3 },
      ),
      body: fc.option(
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
        { nil: undefined },
      ),
    });
    await fc.assert(
      fc.asyncProperty(probe, async ({ method, path: p, query, headers, body: b }) => {
        const url = `${s.base}${p.startsWith('/') ? p : `/${p}`}${query ? `?${query}` : ''}`;
        const withBody = b !== undefined && method !== 'GET' && method !== 'OPTIONS';
        const res = await fetch(url, { method, headers, body: withBody ? b : undefined });
        const text = await res.text();
        const what = `${method} ${url} ${JSON.stringify(headers)} ${withBody ? b!.slice(0, 200) : ''} → ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        const type = res.headers.get('content-type') ?? '';
        if (res.status >= 400) {
          const err = JSON.parse(text) as { error: Record<string, unknown> };
          expect(typeof err.error.message, what).toBe('string');
          expect(typeof err.error.type, what).toBe('string');
        } else if (type.startsWith('application/json')) expect(() => JSON.parse(text), what).not.toThrow();
      }),
      { numRuns: Number(process.env.ANDES_FUZZ_RUNS ?? 250), seed: Number(process.env.ANDES_FUZZ_SEED ?? 20261206) },
    );
    expect((await fetch(`${s.base}/health`)).status).toBe(200);
  }, 240_000);
});
