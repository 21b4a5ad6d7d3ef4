/**
 * Operations around the API on a real server (tiny real model): readiness separate from liveness, request ids in
 * responses and in every log line, per-key rate limits, Retry-After, and the metrics a deployment scales on.
 */
import { PagedKvCache } from '@andes/nn';
import { createServer, type Engine, loadServedModel, type ServedModel, warmUp } from '@andes/serve';
import { describe, expect, it } from 'vitest';
import { readSse } from './reference.js';
import { tinyModel } from './tiny-model.js';

/** Each step `engine` runs from now on, as `seq@start×rows` per chunk (`s` when it draws), in order. */
function recordSteps(engine: Engine): string[] {
  const calls: string[] = [];
  const step = engine.step.bind(engine);
  engine.step = (chunks) => {
    calls.push(chunks.map((c) => `${c.seq}@${c.start}×${c.ids.length}${c.sample ? 's' : ''}`).join(' '));
    return step(chunks);
  };
  return calls;
}

async function served(maxSlots = 2): Promise<ServedModel> {
  const tiny = await tinyModel();
  return loadServedModel(tiny.dir, { id: 'tiny', maxSlots });
}

describe('readiness', () => {
  it('/ready is 503 while loading, 200 only after the warm-up ran, 503 while draining; /health stays liveness', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const m = await served();
    const calls: string[] = [];
    const step = m.engine.step.bind(m.engine);
    // Steps wait for `held` while it is set: the drain below must find the stream still running, whatever the speed of
    // the machine (else the tiny model ends it first, the server closes, and the checks meet a closed socket).
    let held: Promise<void> | null = null;
    let release = () => {};
    m.engine.step = async (chunks) => {
      calls.push(chunks.map((c) => `${c.seq}@${c.start}×${c.ids.length}`).join(' '));
      if (held && calls.length > 4) await held;
      return step(chunks);
    };
    const server = createServer({
      load: async () => {
        await gate;
        return m;
      },
    });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    let shutdown: Promise<void> | undefined;
    try {
      const loading = await fetch(`${base}/ready`);
      expect(loading.status).toBe(503);
      expect(await loading.json()).toEqual({ status: 'loading' });
      expect(calls).toEqual([]);
      finish();
      await server.loaded;
      // The warm-up ran through the engine before readiness (a prefill, two decodes; on the CPU no batch), and left
      // no block in use.
      expect(calls).toEqual(['-1@0×3', '-1@3×1', '-1@4×1']);
      expect(server.scheduler()!.runningCount).toBe(0);
      expect(m.engine.blocks.usedBlocks).toBe(0);
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      // Drain with a stream in flight: readiness drops at once, the stream still completes. Its first step (the
      // prompt, whose token sends the headers) runs; the next waits until the drain has been checked.
      held = new Promise<void>((r) => (release = r));
      const stream = fetch(`${base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'Once upon', max_tokens: 40, stream: true, logit_bias: {} }),
      });
      const response = await stream;
      shutdown = server.shutdown(5000);
      const draining = await fetch(`${base}/ready`);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toEqual({ status: 'draining' });
      const refused = await fetch(`${base}/v1/models`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      release();
      const events = await readSse(response);
      expect(events.at(-1)).toBe('[DONE]');
    } finally {
      release(); // a failed check must not leave a step waiting
      held = null;
      await (shutdown ?? server.shutdown(100));
    }
  });
  it('a batch warm-up runs the smallest step of each size class of rows and of sequences the blocks hold, draws, frees all', async () => {
    const tiny = await tinyModel();
    expect(tiny.model.config.max_position_embeddings).toBe(96); // 95 prompt rows per sequence, 6 blocks of 16
    const perContext = Math.ceil(tiny.model.config.max_position_embeddings / 16);
    // A pool of exactly one context's blocks under a batch of 8.
    const kvBudgetBytes = perContext * PagedKvCache.bytesPerBlock(tiny.model.config, 16);
    const prompts = (...lengths: number[]) => lengths.map((n, i) => `${-2 - i}@0×${n}s`).join(' ');
    const decodes = (count: number) => prompts(...new Array<number>(count).fill(1)).replaceAll('@0×', '@1×');
    const cases = [
      {
        maxSlots: 3,
        budget: undefined,
        // The smallest size of each class: rows 2, 3, 5, …, 65 in one sequence, 129 split at 95; then 2 and 3 sequences.
        expected: [
          ...[2, 3, 5, 9, 17, 33, 65].map((n) => prompts(n)),
          prompts(95, 34),
          prompts(1, 1),
          decodes(2),
          prompts(1, 1, 1),
          decodes(3),
        ],
      },
      {
        maxSlots: 8,
        budget: kvBudgetBytes,
        // 129 rows need 9 blocks of the 6: skipped. Sequences: 2, 3 and 5 (class 8; the pool holds 6).
        expected: [
          ...[2, 3, 5, 9, 17, 33, 65].map((n) => prompts(n)),
          ...[2, 3, 5].flatMap((n) => [prompts(...new Array<number>(n).fill(1)), decodes(n)]),
        ],
      },
    ];
    for (const { maxSlots, budget, expected } of cases) {
      const m = await loadServedModel(tiny.dir, { id: 'tiny', maxSlots, kvBudgetBytes: budget });
      const calls = recordSteps(m.engine);
      await warmUp(m.engine, { batch: true, maxRows: 200 });
      expect(calls).toEqual(['-1@0×3', '-1@3×1', '-1@4×1', ...expected]);
      expect(m.engine.blocks.usedBlocks).toBe(0);
      m.engine.dispose();
    }
  });
  it('createServer warms up as --warm-up says: short, or sizes up to its prefill chunk plus the batch', async () => {
    for (const [mode, expected] of [
      ['short', ['-1@0×3', '-1@3×1', '-1@4×1']],
      // prefillChunk 8 + batch 2 = 10 rows: classes 2, 3, 5 and 9; then 2 sequences.
      [
        'sizes',
        [
          '-1@0×3',
          '-1@3×1',
          '-1@4×1',
          '-2@0×2s',
          '-2@0×3s',
          '-2@0×5s',
          '-2@0×9s',
          '-2@0×1s -3@0×1s',
          '-2@1×1s -3@1×1s',
        ],
      ],
    ] as const) {
      const m = await served(2);
      const calls = recordSteps(m.engine);
      const server = createServer({ load: async () => m, warmUp: mode, prefillChunk: 8 });
      try {
        await server.loaded;
        expect(calls).toEqual(expected);
      } finally {
        await server.shutdown(100);
      }
    }
  });
});

describe('request ids, logs, rate limits and metrics', () => {
  it('returns the client X-Request-Id (or a fresh UUID) and logs it on every line of the request', async () => {
    const lines: Record<string, unknown>[] = [];
    const m = await served();
    const server = createServer({
      load: async () => m,
      logger: { level: 'info', stream: { write: (l: string) => lines.push(JSON.parse(l)) } },
    });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await server.loaded;
      const mine = await fetch(`${base}/v1/models`, { headers: { 'x-request-id': 'trace-42.a' } });
      expect(mine.headers.get('x-request-id')).toBe('trace-42.a');
      const fresh = await fetch(`${base}/v1/models`);
      expect(fresh.headers.get('x-request-id')).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      // Not log-safe: replaced, not echoed.
      const bad = await fetch(`${base}/v1/models`, { headers: { 'x-request-id': 'a b"c' } });
      expect(bad.headers.get('x-request-id')).not.toContain(' ');
      // Streams write their own head: the id is there too.
      const sse = await fetch(`${base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'stream-7' },
        body: JSON.stringify({ model: 'tiny', prompt: 'Once', max_tokens: 3, stream: true }),
      });
      expect(sse.headers.get('x-request-id')).toBe('stream-7');
      await readSse(sse);
      const ofRequest = lines.filter((l) => l.req !== undefined || l.res !== undefined);
      expect(ofRequest.length).toBeGreaterThanOrEqual(8);
      for (const l of ofRequest) expect(typeof l.request_id).toBe('string');
      expect(lines.filter((l) => l.request_id === 'trace-42.a').length).toBeGreaterThanOrEqual(2);
      expect(lines.filter((l) => l.request_id === 'stream-7').length).toBeGreaterThanOrEqual(2);
    } finally {
      await server.shutdown(100);
    }
  });

  it('limits each API key separately with 429 + Retry-After, and exports the metrics', async () => {
    const m = await served();
    const server = createServer({ load: async () => m, rateLimit: { perMinute: 60, burst: 2 } });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const get = (key: string) => fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    try {
      await server.loaded;
      expect((await get('alice')).status).toBe(200);
      expect((await get('alice')).status).toBe(200);
      const limited = await get('alice');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBe(1);
      expect((await limited.json()).error.code).toBe('rate_limit_exceeded');
      expect((await get('bob')).status).toBe(200);
      // Liveness, readiness and metrics are never limited.
      for (let i = 0; i < 4; i++) expect((await fetch(`${base}/ready`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await get('alice')).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/^andes_rate_limited_total 1$/m);
      expect(text).toMatch(/^andes_queue_depth 0$/m);
      expect(text).toMatch(/^andes_kv_positions_in_use 0$/m);
      const { numBlocks, blockSize } = m.engine.blocks;
      expect(text).toMatch(new RegExp(`^andes_kv_positions_total ${numBlocks * blockSize}$`, 'm'));
      // Every block is free again after the requests: none leaked.
      expect(text).toMatch(/^andes_kv_blocks_used 0$/m);
      expect(text).toMatch(new RegExp(`^andes_kv_blocks_free ${numBlocks}$`, 'm'));
      expect(text).toMatch(new RegExp(`^andes_kv_blocks_total ${numBlocks}$`, 'm'));
      expect(text).toContain('andes_time_to_first_token_seconds_bucket');
      expect(text).toContain('andes_inter_token_latency_seconds_bucket');
      expect(text).toContain('andes_decode_batch_size_bucket');
    } finally {
      await server.shutdown(100);
    }
  });
});
