// A bench-only OpenAI-compatible server over llama.cpp (node-llama-cpp 3.21.1, CPU), to run beside andes-serve on
// the same GGUF file and be driven by the same `openai` clients. Not part of the product: just enough of
// `POST /v1/completions` (prompt, max_tokens, temperature, seed, logit_bias, stream + stream_options.include_usage)
// for serve-bench.mjs. N parallel requests decode as N sequences of one llama.cpp context, which batches the
// sequences' steps together (llama.cpp server's `--parallel`); more requests wait for a free sequence.
//
//   node bench/llama-cpp-server.mjs --model file.gguf --parallel 16 --threads 1 --context 256 --port 0
//
// It prints `listening <url>` once ready.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { getLlama, LlamaLogLevel, TokenBias } from 'node-llama-cpp';

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string' },
    parallel: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
    context: { type: 'string', default: '256' },
    port: { type: 'string', default: '0' },
  },
});
if (!opts.model) throw new Error('llama-cpp-server: --model <file.gguf> is required');
const parallel = Number(opts.parallel);
const perSequence = Number(opts.context);

const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: opts.model });
const context = await model.createContext({
  sequences: parallel,
  contextSize: perSequence * parallel,
  batchSize: Math.max(512, parallel),
  threads: Number(opts.threads),
});
const free = Array.from({ length: parallel }, () => context.getSequence());
const waiting = [];
const acquire = () => (free.length > 0 ? Promise.resolve(free.pop()) : new Promise((r) => waiting.push(r)));
const release = (seq) => (waiting.length > 0 ? waiting.shift()(seq) : free.push(seq));

const sse = (res, data) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

async function complete(body, res, closed) {
  const prompt = [model.tokens.bos, ...model.tokenize(String(body.prompt ?? ''))].filter((t) => t != null);
  const maxTokens = Math.min(body.max_tokens ?? 16, perSequence - prompt.length);
  const bias = new TokenBias(model.tokenizer);
  for (const [id, value] of Object.entries(body.logit_bias ?? {})) {
    bias.set(Number(id), value <= -100 ? 'never' : { logit: value });
  }
  const id = `cmpl-${Math.random().toString(36).slice(2)}`;
  const chunk = (choices, extra = {}) => ({
    id,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices,
    ...extra,
  });
  const seq = await acquire();
  let generated = 0;
  let finish = 'length';
  try {
    await seq.clearHistory();
    const tokens = [];
    if (maxTokens > 0) {
      const stream = seq.evaluate(prompt, {
        temperature: body.temperature ?? 1,
        seed: body.seed ?? undefined,
        tokenBias: bias,
      });
      for await (const token of stream) {
        if (closed()) break;
        generated++;
        const text = model.detokenize([token], false, tokens);
        tokens.push(token);
        if (body.stream) sse(res, chunk([{ index: 0, text, finish_reason: null, logprobs: null }]));
        if (generated >= maxTokens) break;
      }
      if (generated < maxTokens && !closed()) finish = 'stop';
    }
    const usage = {
      prompt_tokens: prompt.length,
      completion_tokens: generated,
      total_tokens: prompt.length + generated,
    };
    if (body.stream) {
      sse(res, chunk([{ index: 0, text: '', finish_reason: finish, logprobs: null }]));
      if (body.stream_options?.include_usage) sse(res, chunk([], { usage }));
      sse(res, '[DONE]');
      res.end();
    } else {
      const text = model.detokenize(tokens);
      res.end(JSON.stringify(chunk([{ index: 0, text, finish_reason: finish, logprobs: null }], { usage })));
    }
  } finally {
    release(seq);
  }
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `${req.method} ${req.url}: not served here` } }));
    return;
  }
  let raw = '';
  req.on('data', (d) => {
    raw += d;
  });
  req.on('end', () => {
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400).end('{"error":{"message":"invalid JSON"}}');
      return;
    }
    res.writeHead(200, {
      'content-type': body.stream ? 'text/event-stream' : 'application/json',
      'cache-control': 'no-cache',
    });
    complete(body, res, () => closed).catch((e) => {
      console.error(`llama-cpp-server: ${e instanceof Error ? e.message : String(e)}`);
      res.destroy();
    });
  });
});
server.listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
const stop = async () => {
  server.close();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
