/**
 * Server lifecycle: 503 while the model loads, and the real CLI (`bin/andes-serve.js`) serving a model directory,
 * then on SIGTERM refusing new work, finishing the in-flight stream and exiting 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createServer, type ServedModel } from '@andes/serve';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModel } from './tiny-model.js';

const BIN = resolve(import.meta.dirname, '../../apps/serve/bin/andes-serve.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('lifecycle', () => {
  it('answers 503 on /health and the API while loading, 200 once ready', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const tiny = await tinyModel();
    const { loadServedModel } = await import('@andes/serve');
    const server = createServer({
      load: async (): Promise<ServedModel> => {
        await gate;
        return loadServedModel(tiny.dir, { id: 'tiny', maxSlots: 1 });
      },
    });
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await fetch(`${base}/health`)).status).toBe(503);
      const early = await fetch(`${base}/v1/models`);
      expect(early.status).toBe(503);
      expect((await early.json()).error.code).toBe('loading');
      finish();
      await server.loaded;
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      await server.shutdown(100);
    }
  });

  it('the CLI exits 1 with a message naming the file when the model cannot be loaded', async () => {
    const child = spawn(
      process.execPath,
      [BIN, '--model', '/nonexistent-andes-model', '--port', '0', '--backend', 'cpu'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toContain('/nonexistent-andes-model/config.json');
  });

  // The CPU default (one engine worker), the model on the main thread, and two engine workers (data-parallel
  // shards): same streams, and the workers end with the server.
  it.each([[[]], [['--engine-workers', '0']], [['--engine-workers', '2']]])(
    'the CLI %j serves a model directory and, on SIGTERM, finishes in-flight streams and exits 0',
    async (flags: string[]) => {
      const tiny = await tinyModel();
      const child = spawn(
        process.execPath,
        [
          BIN,
          '--model',
          tiny.dir,
          '--port',
          '0',
          '--backend',
          'cpu',
          '--max-batch',
          '2',
          '--model-name',
          'tiny',
          ...flags,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } },
      );
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const base = await new Promise<string>((res, rej) => {
        const t = setInterval(() => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearInterval(t);
            res(m[1]!);
          }
          if (child.exitCode !== null) {
            clearInterval(t);
            rej(new Error(`andes-serve exited: ${out}`));
          }
        }, 20);
      });
      while ((await fetch(`${base}/health`)).status !== 200) await new Promise((r) => setTimeout(r, 50));
      const workers = flags.length === 0 ? '1 engine worker' : `${flags[1]} engine workers`;
      // The ready line ends with how the weights are held (a model directory loads as float32).
      await expect.poll(() => out, { interval: 20 }).toContain(`${workers}; weights in float32)`);
      // 16 choices × 80 tokens on 2 slots: long enough that SIGTERM arrives mid-generation.
      const res = await fetch(`${base}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny',
          prompt: 'Once upon a time',
          max_tokens: 80,
          n: 16,
          temperature: 0,
          logit_bias: { [String(tiny.tokenizer.eosId)]: -100 },
          stream: true,
          stream_options: { include_usage: true },
        }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      child.kill('SIGTERM');
      // While draining, new work is refused with 503 and the in-flight stream goes on.
      await expect
        .poll(async () => (await fetch(`${base}/v1/models`).catch(() => ({ status: -1 }))).status, { interval: 20 })
        .toBe(503);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const events = text
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => e.slice(6));
      expect(events.at(-1)).toBe('[DONE]');
      const usage = JSON.parse(events.at(-2)!).usage;
      expect(usage.completion_tokens).toBe(16 * 80);
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      await expect(fetch(`${base}/health`)).rejects.toThrow();
    },
  );
});
