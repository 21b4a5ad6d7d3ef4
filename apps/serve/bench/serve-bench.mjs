// Load generator for andes-serve (loopback only, bounded): single-stream decode tokens/s on the `stories-15m` shape,
// then, at 1, 4, 16 and 64 concurrent streaming clients (official `openai` client, same process): aggregate
// generated tokens/s, time to first token and inter-token latency percentiles (p50 / p95 / p99), and failed
// requests. Random weights: speed does not depend on them. Run with `npm run bench -w @andes/serve` after
// `npm run build`.
//
// Environment: ANDES_BACKEND (cpu | webgpu; default: WebGPU if an adapter exists), BENCH_TOKENS (tokens per
// request, default 16), BENCH_SECONDS (time budget per concurrency level, default 30; requests in flight finish),
// BENCH_PRESET (default stories-15m), BENCH_LEVELS (default 1,4,16,64), BENCH_SLOTS (KV-cache slots, the largest
// decode batch; default 16: more clients queue), BENCH_JSON (write the results there as JSON), BENCH_CLIENTS
// (inline, the default: the clients run in the server's process; process: in a child process, so the server's
// process only serves — on a 2-core machine the clients otherwise compete with the server's event loop). Each level
// also reports the server process's CPU seconds, and generated tokens per server CPU-second (with BENCH_CLIENTS=
// process, a figure that does not depend on what else the machine runs).
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { argmax, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import OpenAI from 'openai';
import { createServedModel, createServer } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PRESET = process.env.BENCH_PRESET ?? 'stories-15m';
const LEVELS = (process.env.BENCH_LEVELS ?? '1,4,16,64').split(',').map(Number);
const SLOTS = Number(process.env.BENCH_SLOTS ?? 16);
const CLIENTS_IN = process.env.BENCH_CLIENTS ?? 'inline';

function quantile(xs, q) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * `clients` streaming clients sending requests back to back to `base` for the time budget (at least one each):
 * generated tokens, request counts, TTFTs and inter-token gaps (ms).
 */
async function runClients(base, clients, eos) {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'bench', maxRetries: 0 });
  const ttft = [];
  const itl = [];
  let generated = 0;
  let requests = 0;
  let failed = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async (w) => {
    for (let r = 0; r === 0 || performance.now() < deadline; r++) {
      const start = performance.now();
      let first = 0;
      let last = 0;
      try {
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
          if (chunk.choices[0]?.text) {
            const now = performance.now();
            if (!first) first = now;
            else itl.push(now - last);
            last = now;
          }
          if (chunk.usage) generated += chunk.usage.completion_tokens;
        }
        ttft.push((first || performance.now()) - start);
        requests++;
      } catch (e) {
        failed++;
        if (failed <= 3) console.error(`request failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  return { ttft, itl, generated, requests, failed, wall: (performance.now() - t0) / 1000 };
}

// The client side of BENCH_CLIENTS=process: run one level against the parent's server, report, exit.
if (process.env.BENCH_ROLE === 'clients') {
  const out = await runClients(process.env.BENCH_BASE, Number(process.env.BENCH_LEVEL), process.env.BENCH_EOS);
  process.send(out, () => process.exit(0));
  await new Promise(() => {});
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
  maxSlots: SLOTS,
  maxContext: Math.min(config.max_position_embeddings, 256),
});
const engine = served.engine;
console.log(`# andes-serve benchmark — ${PRESET} (random weights), backend ${getBackend().name}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
console.log(
  `model: dim ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads, vocab ${config.vocab_size}; ${SLOTS} slots; ${TOKENS} tokens per request`,
);
const fmtMs = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}` : '—');

// 1. Single-stream decode: one sequence, the server's step path, logits read back each step (what the server does).
{
  const prompt = tokenizer.encode('Once upon a time, there was a little', { bos: true });
  // The slot engine of commits before the paged cache (prefill/decode) too, so one script measures before and after.
  const next = engine.step
    ? async (ids, start) => argmax((await engine.step([{ seq: 0, ids, start }]))[0])
    : async (ids, start) =>
        argmax(
          start === 0
            ? await engine.prefill(0, ids)
            : await engine.decode([{ slot: 0, token: ids[0], position: start }]),
        );
  let pos = prompt.length;
  let token = await next(prompt, 0);
  for (let i = 0; i < 3; i++) token = await next([token], pos++); // warm-up
  engine.release(0);
  pos = prompt.length;
  token = await next(prompt, 0);
  const steps = Math.min(TOKENS * 2, engine.maxContext - pos - 1);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) token = await next([token], pos++);
  const dt = (performance.now() - t0) / 1000;
  engine.release(0);
  console.log(
    `single-stream decode: ${(steps / dt).toFixed(1)} tokens/s (${steps} steps, ${((dt / steps) * 1000).toFixed(1)} ms/token)`,
  );
}

// 2. Server throughput with concurrent streaming clients.
const server = createServer({ load: async () => served, maxQueue: 1024 });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
await server.loaded;
const eos = String(tokenizer.eosId);
const results = [];
for (const clients of LEVELS) {
  const c0 = process.cpuUsage();
  const load = loadavg()[0];
  let out;
  if (CLIENTS_IN === 'process') {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, BENCH_ROLE: 'clients', BENCH_BASE: base, BENCH_LEVEL: String(clients), BENCH_EOS: eos },
    });
    out = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
    });
  } else out = await runClients(base, clients, eos);
  const cpu = process.cpuUsage(c0);
  const serverCpu = (cpu.user + cpu.system) / 1e6;
  const { ttft, itl, generated, requests, failed } = out;
  const wall = out.wall;
  const row = {
    clients,
    requests,
    failed,
    generated,
    seconds: wall,
    tokensPerSecond: generated / wall,
    ttftP50: quantile(ttft, 0.5),
    ttftP95: quantile(ttft, 0.95),
    ttftP99: quantile(ttft, 0.99),
    itlP50: quantile(itl, 0.5),
    itlP95: quantile(itl, 0.95),
    itlP99: quantile(itl, 0.99),
    serverCpuSeconds: serverCpu,
    tokensPerServerCpuSecond: generated / serverCpu,
    loadAverage: load,
  };
  results.push(row);
  console.log(
    `clients ${clients}: ${row.tokensPerSecond.toFixed(1)} tokens/s aggregate; TTFT p50/p95/p99 ${fmtMs(row.ttftP50)}/${fmtMs(row.ttftP95)}/${fmtMs(row.ttftP99)} ms; inter-token p50/p95/p99 ${fmtMs(row.itlP50)}/${fmtMs(row.itlP95)}/${fmtMs(row.itlP99)} ms (${requests} requests, ${failed} failed, ${generated} tokens, ${wall.toFixed(1)} s; server ${serverCpu.toFixed(1)} CPU-s, ${row.tokensPerServerCpuSecond.toFixed(1)} tokens/CPU-s; load ${load.toFixed(1)})`,
  );
}
const one = results.find((r) => r.clients === 1);
const sixteen = results.find((r) => r.clients === 16);
if (one && sixteen) {
  console.log(
    `aggregate throughput 16 vs 1 clients: ${(sixteen.tokensPerSecond / one.tokensPerSecond).toFixed(2)}× (target ≥ 4×)`,
  );
  console.log(`TTFT p95 at 16 clients vs TTFT p95 at 1: ${(sixteen.ttftP95 / one.ttftP95).toFixed(2)}× (target ≤ 2×)`);
  console.log(`TTFT p95 at 16 clients vs TTFT p50 at 1: ${(sixteen.ttftP95 / one.ttftP50).toFixed(2)}×`);
  console.log(
    `tokens per server CPU-second 16 vs 1 clients: ${(sixteen.tokensPerServerCpuSecond / one.tokensPerServerCpuSecond).toFixed(2)}× (clients ${CLIENTS_IN})`,
  );
}
console.log(`failed requests: ${results.reduce((n, r) => n + r.failed, 0)}`);
if (process.env.BENCH_JSON) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    process.env.BENCH_JSON,
    `${JSON.stringify({ preset: PRESET, backend: getBackend().name, results }, null, 2)}\n`,
  );
}
await server.shutdown(1000);
process.exit(0);
