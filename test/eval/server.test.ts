import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { syntheticStory } from '@andes/data';
import { createProgram, LocalModel, type PerplexityReport, ServerModel, type TasksReport } from '@andes/eval';
import { type AndesServer, createServer, loadServedModel } from '@andes/serve';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelDir } from './tiny-model-dir.js';

// andes-serve (its own model loader and server) started in-process on loopback, serving the same model directory
// that is evaluated locally.
let dir: string;
let server: AndesServer;
let url: string;
const work = mkdtempSync(join(tmpdir(), 'andes-eval-server-'));

async function cli(...args: string[]): Promise<void> {
  const stderr = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
  await createProgram({ stdout: new PassThrough(), stderr }).parseAsync([
    'node',
    'andes-eval',
    ...args,
    '--backend',
    'cpu',
  ]);
}

beforeAll(async () => {
  await setBackend('cpu');
  dir = await tinyModelDir({ seed: 5 });
  server = createServer({ load: () => loadServedModel(dir, { id: 'tiny', maxSlots: 4 }) });
  await server.loaded;
  url = await server.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.shutdown(0);
});

describe('--server against andes-serve', () => {
  it('gives the same log-likelihoods and greediness as local evaluation of the same model', async () => {
    const story = syntheticStory(3, 4);
    const requests = [
      { context: story.slice(0, 40), continuation: ' she' },
      { context: story.slice(0, 40), continuation: ' the big red ball' },
      { context: 'Tom and ', continuation: 'Lily' },
      { context: '', continuation: 'Once upon a time' },
      { context: story.slice(0, 30), continuation: story.slice(30, 45) },
    ];
    const local = await LocalModel.load(dir);
    const [a, b] = await Promise.all([local.loglikelihood(requests), new ServerModel(url).loglikelihood(requests)]);
    a.forEach((r, i) => {
      expect(b[i]!.logprob).toBeCloseTo(r.logprob, 3);
      expect(b[i]!.isGreedy).toBe(r.isGreedy);
    });
    await local.close();
  });

  it('truncates over-long requests to the server context minus the echoed target (local with maxLength − 1)', async () => {
    const story = syntheticStory(3, 5);
    const requests = [
      { context: story.slice(0, 300), continuation: ' she' },
      { context: story.slice(0, 200), continuation: ' and then they went home' },
    ];
    const local = await LocalModel.load(dir, { maxLength: 63 });
    expect(local.tokenRequests(requests).every((r) => r.tokens.length === 64)).toBe(true);
    const [a, b] = await Promise.all([local.loglikelihood(requests), new ServerModel(url).loglikelihood(requests)]);
    a.forEach((r, i) => {
      expect(b[i]!.logprob).toBeCloseTo(r.logprob, 3);
      expect(b[i]!.isGreedy).toBe(r.isGreedy);
    });
    await local.close();
  });

  it('andes-eval tasks --context 63: --server reports what --model reports for over-long contexts too', async () => {
    const story = syntheticStory(3, 21);
    const rows = Array.from({ length: 5 }, (_, i) => ({
      context: story.slice(0, 250 + 20 * i), // longer than the 64-token context
      choices: ['Lily', 'the ball', 'went home'],
      label: i % 3,
    }));
    const file = join(work, 'long.jsonl');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const samples = (name: string) =>
      readFileSync(join(work, name), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).logprobs as number[]);
    await cli('tasks', '--model', dir, '--tasks', file, '--context', '63', '--log-samples', join(work, 'long-l.jsonl'));
    await cli(
      'tasks',
      '--server',
      url,
      '--tasks',
      file,
      '--context',
      '63',
      '--log-samples',
      join(work, 'long-s.jsonl'),
    );
    const local = samples('long-l.jsonl').flat();
    const remote = samples('long-s.jsonl').flat();
    expect(local).toHaveLength(15);
    for (const [i, lp] of remote.entries()) expect(lp).toBeCloseTo(local[i]!, 3);
  });

  it('andes-eval tasks --server reports what --model reports', async () => {
    const story = syntheticStory(3, 9);
    const rows = Array.from({ length: 6 }, (_, i) => ({
      context: story.slice(0, 10 + 8 * i), // within the server's context
      choices: ['Lily', 'the ball', 'happy', 'went home'],
      label: i % 4,
    }));
    const file = join(work, 'story.jsonl');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    await cli('tasks', '--model', dir, '--tasks', file, '--json', join(work, 'local.json'));
    await cli('tasks', '--server', url, '--tasks', file, '--json', join(work, 'server.json'));
    const local = (JSON.parse(readFileSync(join(work, 'local.json'), 'utf8')) as TasksReport).models[0]!.results;
    const remote = (JSON.parse(readFileSync(join(work, 'server.json'), 'utf8')) as TasksReport).models[0]!.results;
    expect(remote).toEqual(local);
  });

  it('andes-eval perplexity --server equals --model with the same --context', async () => {
    const file = join(work, 'doc.txt');
    writeFileSync(file, syntheticStory(3, 12));
    for (const stride of [undefined, '7']) {
      const extra = stride ? ['--stride', stride] : [];
      await cli(
        'perplexity',
        '--model',
        dir,
        '--data',
        file,
        '--context',
        '20',
        ...extra,
        '--json',
        join(work, 'pl.json'),
      );
      await cli(
        'perplexity',
        '--server',
        url,
        '--data',
        file,
        '--context',
        '20',
        ...extra,
        '--json',
        join(work, 'ps.json'),
      );
      const l = (JSON.parse(readFileSync(join(work, 'pl.json'), 'utf8')) as PerplexityReport).models[0]!.result;
      const s = (JSON.parse(readFileSync(join(work, 'ps.json'), 'utf8')) as PerplexityReport).models[0]!.result;
      expect(s.tokens).toBe(l.tokens);
      expect(s.bytes).toBe(l.bytes);
      expect(Math.abs(s.logprob - l.logprob) / Math.abs(l.logprob)).toBeLessThan(1e-5);
    }
  });
});
