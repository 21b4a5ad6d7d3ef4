// Benchmark of andes-serve (loopback only, bounded): single-stream decode tokens/s on the `stories-15m` shape,
// then aggregate generated tokens/s and time-to-first-token p50/p95 at 1, 4 and 16 concurrent streaming clients.
// Random weights: speed does not depend on them. Run with `npm run bench -w @andes/serve` after `npm run build`.
//
// Environment: ANDES_BACKEND (cpu | webgpu; default: WebGPU if an adapter exists), BENCH_TOKENS (tokens per
// request, default 16), BENCH_SECONDS (time budget per concurrency level, default 30; requests in flight finish),
// BENCH_PRESET (default stories-15m).
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import OpenAI from 'openai';
import { argmax, createServedModel, createServer } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PRESET = process.env.BENCH_PRESET ?? 'stories-15m';
const LEVELS = [1, 4, 16];

function quantile(xs, q) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

await initBackend();
const tokenizer = await benchTokenizer();
const config = llamaPreset(PRESET, { vocab_size: tokenizer.vocabSize });
const model = new LlamaForCausalLM(config, { seed: 1 });
const served = createServedModel({
  id: PRESET,
  model,
  tokenizer,
  template: 'llama-2',
  maxSlots: Math.max(...LEVELS),
  maxContext: Math.min(config.max_position_embeddings, 256),
});
const engine = served.engine;
console.log(`# andes-serve benchmark — ${PRESET} (random weights), backend ${getBackend().name}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
console.log(
  `model: dim ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads, vocab ${config.vocab_size}`,
);

// 1. Single-stream decode: one slot, batched-decode path, logits read back each step (what the server does).
{
  const prompt = tokenizer.encode('Once upon a time, there was a little', { bos: true });
  let pos = prompt.length;
  let token = argmax(await engine.prefill(0, prompt));
  for (let i = 0; i < 3; i++) token = argmax(await engine.decode([{ slot: 0, token, position: pos++ }])); // warm-up
  const steps = Math.min(TOKENS * 2, engine.maxContext - pos - 1);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) token = argmax(await engine.decode([{ slot: 0, token, position: pos++ }]));
  const dt = (performance.now() - t0) / 1000;
  engine.release(0);
  console.log(
    `single-stream decode: ${(steps / dt).toFixed(1)} tokens/s (${steps} steps, ${((dt / steps) * 1000).toFixed(1)} ms/token)`,
  );
}

// 2. Server throughput with concurrent streaming clients.
const server = createServer({ load: async () => served, maxQueue: 256 });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
await server.loaded;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'bench', maxRetries: 0 });
const eos = String(tokenizer.eosId);
const results = [];
for (const clients of LEVELS) {
  const ttft = [];
  let generated = 0;
  let requests = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async (w) => {
    // Each client sends requests back to back until the time budget is spent (at least one each).
    for (let r = 0; r === 0 || performance.now() < deadline; r++) {
      const start = performance.now();
      let first = 0;
      const stream = await client.completions.create({
        model: PRESET,
        prompt: `Story ${w}-${r}: Once upon a time`,
        max_tokens: TOKENS,
        temperature: 0.8,
        seed: w * 1000 + r,
        logit_bias: { [eos]: -100 },
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        if (!first && chunk.choices[0]?.text) first = performance.now();
        if (chunk.usage) generated += chunk.usage.completion_tokens;
      }
      ttft.push((first || performance.now()) - start);
      requests++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const wall = (performance.now() - t0) / 1000;
  const row = {
    clients,
    requests,
    generated,
    tokensPerSecond: generated / wall,
    ttftP50: quantile(ttft, 0.5),
    ttftP95: quantile(ttft, 0.95),
  };
  results.push(row);
  console.log(
    `clients ${clients}: ${row.tokensPerSecond.toFixed(1)} generated tokens/s aggregate, TTFT p50 ${row.ttftP50.toFixed(0)} ms, p95 ${row.ttftP95.toFixed(0)} ms (${requests} requests, ${generated} tokens, ${wall.toFixed(1)} s)`,
  );
}
const ratio = results.at(-1).tokensPerSecond / results[0].tokensPerSecond;
console.log(`aggregate throughput 16 vs 1 clients: ${ratio.toFixed(2)}×`);
await server.shutdown(1000);
process.exit(0);
