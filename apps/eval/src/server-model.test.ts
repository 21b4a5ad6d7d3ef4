import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBase, ServerModel } from './server-model.js';

// A fake OpenAI-compatible server over a character-level "model": the prompt is tokenized as BOS + one token per
// character, and the log-probability of the token at position j is a fixed function of (character, j).
const tokenLogprob = (ch: string, j: number) => -(1 + (ch.charCodeAt(0) % 7) * 0.1 + j * 0.01);
const isArgmax = (ch: string) => ch.charCodeAt(0) % 2 === 0;

let server: Server;
let url: string;
let tokenizeRoute = false;
const bodies: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/models') return res.end(JSON.stringify({ data: [{ id: 'fake' }] }));
      const body = JSON.parse(raw);
      if (req.url === '/tokenize') {
        if (!tokenizeRoute) return res.writeHead(404).end('{}');
        // Character codes as token ids, 0 as BOS.
        const ids = [...(body.prompt as string)].map((c) => c.charCodeAt(0));
        return res.end(JSON.stringify({ tokens: body.add_special_tokens ? [0, ...ids] : ids, max_model_len: 3 }));
      }
      bodies.push(body);
      if (body.model !== 'fake') return res.writeHead(404).end(JSON.stringify({ error: { message: 'no such model' } }));
      const prompt: string = Array.isArray(body.prompt)
        ? (body.prompt as number[]).map((id) => (id === 0 ? '' : String.fromCharCode(id))).join('')
        : body.prompt;
      if (!body.echo) return res.end(JSON.stringify({ choices: [{ text: ` answer for ${prompt.length}\nnext` }] }));
      const chars = [...prompt];
      // Text prompts get BOS; id prompts are taken as given.
      const tokens = Array.isArray(body.prompt) && body.prompt[0] !== 0 ? chars : ['<s>', ...chars];
      const token_logprobs = tokens.map((t, j) => (j === 0 ? null : tokenLogprob(t, j)));
      const top_logprobs = tokens.map((t, j) =>
        j === 0 || body.logprobs < 1 ? null : isArgmax(t) ? { [t]: tokenLogprob(t, j), '#': -9 } : { '#': -0.01 },
      );
      res.end(JSON.stringify({ choices: [{ text: prompt, logprobs: { tokens, token_logprobs, top_logprobs } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('ServerModel', () => {
  it('normalises the base URL', () => {
    expect(apiBase('http://h:1')).toBe('http://h:1/v1');
    expect(apiBase('http://h:1/v1/')).toBe('http://h:1/v1');
  });

  it('sums the log-probabilities of the tokens past the context, after moving trailing whitespace', async () => {
    const model = new ServerModel(url);
    const requests = [
      { context: 'Sky is', continuation: ' blue' },
      { context: 'Sky is ', continuation: 'bbb' },
      { context: '', continuation: 'x' },
    ];
    const results = await model.loglikelihood(requests);
    const expected = (context: string, continuation: string) => {
      // Reference: the continuation's characters at their positions (BOS is position 0).
      const ctx = context.trimEnd();
      const cont = context.slice(ctx.length) + continuation;
      let sum = 0;
      let greedy = true;
      [...cont].forEach((ch, k) => {
        sum += tokenLogprob(ch, 1 + ctx.length + k);
        if (!isArgmax(ch)) greedy = false;
      });
      return { sum, greedy };
    };
    requests.forEach((r, i) => {
      const e = expected(r.context, r.continuation);
      expect(results[i]!.logprob).toBeCloseTo(e.sum, 12);
      expect(results[i]!.isGreedy).toBe(e.greedy);
    });
    expect(bodies.every((b) => b.max_tokens === 0 || !b.echo)).toBe(true);
  });

  it('scores rolling windows as token-id prompts when the server has /tokenize', async () => {
    tokenizeRoute = true;
    try {
      // max_model_len 3 → windows of 2: [BOS a b] scores a@1 b@2; [b c d] scores c@1 d@2; [c d e] scores e@2.
      const [r] = await new ServerModel(url).loglikelihoodRolling(['abcde']);
      const f = tokenLogprob;
      expect(r!.tokens).toBe(5);
      expect(r!.logprob).toBeCloseTo(f('a', 1) + f('b', 2) + f('c', 1) + f('d', 2) + f('e', 2), 12);
      // With stride 1: [BOS a b] a@1 b@2; [a b c] c@2; [b c d] d@2; [c d e] e@2.
      const [s] = await new ServerModel(url).loglikelihoodRolling(['abcde'], { stride: 1 });
      expect(s!.logprob).toBeCloseTo(f('a', 1) + f('b', 2) + f('c', 2) + f('d', 2) + f('e', 2), 12);
    } finally {
      tokenizeRoute = false;
    }
  });

  it('scores whole texts for rolling log-likelihood when the server has no /tokenize', async () => {
    const [r] = await new ServerModel(url, { model: 'fake' }).loglikelihoodRolling(['abc']);
    expect(r!.tokens).toBe(3);
    expect(r!.logprob).toBeCloseTo(tokenLogprob('a', 1) + tokenLogprob('b', 2) + tokenLogprob('c', 3), 12);
  });

  it('generates greedily and cuts at the stop strings', async () => {
    const out = await new ServerModel(url).generate(['Q?'], { until: ['\n'], maxTokens: 8 });
    expect(out).toEqual([' answer for 2']);
    expect(bodies.at(-1)).toMatchObject({ temperature: 0, max_tokens: 8, stop: ['\n'] });
  });

  it('reports HTTP errors with the URL and status', async () => {
    await expect(
      new ServerModel(url, { model: 'nope' }).loglikelihood([{ context: 'a', continuation: 'b' }]),
    ).rejects.toThrow(/\/v1\/completions: HTTP 404/);
  });
});
