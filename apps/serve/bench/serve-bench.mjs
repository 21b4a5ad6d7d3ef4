// Load generator for andes-serve (loopback only, bounded), with llama.cpp's server beside it on the same model file.
// The random-weight `stories-15m`-shaped model is written as an f32 GGUF with @andes/checkpoint; `andes-serve --model
// file.gguf` and llama.cpp (bench/llama-cpp-server.mjs: node-llama-cpp 3.21.1, CPU, BENCH_SLOTS parallel sequences,
// BENCH_LLAMA_THREADS threads, default 1 like Andes's CPU backend) serve that file as child processes, and the same
// streaming clients (bench/sse-client.mjs, or the `openai` SDK) drive each in turn at 1, 4, 16 and 64 concurrent clients: aggregate
// generated tokens/s, time to first token and inter-token latency percentiles (p50 / p95 / p99), failed requests,
// and the Andes / llama.cpp ratios. First, single-stream decode tokens/s of the Andes engine in this process. Run
// with `npm run bench -w @andes/serve` after `npm run build`.
//
// Environment: ANDES_BACKEND (cpu | webgpu; default: WebGPU if an adapter exists), BENCH_TOKENS (tokens per
// request, default 16), BENCH_SECONDS (time budget per concurrency level and server, default 30; requests in flight
// finish), BENCH_PRESET (default stories-15m), BENCH_FILE_DTYPE (the file's type: f32, the default, f16, q8_0, q4_0,
// or q4_k_m: the f32 file quantized by llama.cpp's own Q4_K / Q6_K routines, for shapes of whole 256-weight blocks
// such as stories-110m), BENCH_LEVELS (default 1,4,16,64), BENCH_SLOTS (KV-cache sequences /
// llama.cpp sequences, the largest decode batch; default 16: more clients queue), BENCH_SERVERS (default
// andes,llama.cpp), BENCH_LLAMA_THREADS (default 1), BENCH_JSON (write the results there as JSON), BENCH_CLIENTS
// (inline, the default: the clients run in this process; process: in a child process per level, so this process
// only waits), BENCH_WORKLOADS (default lockstep,realistic: see bench-workload.mjs), BENCH_STAGGER_MS (realistic
// clients' start delays are drawn from [0, this), default 1000), BENCH_ENGINE_WORKERS (andes-serve --engine-workers, or a
// list such as 0,2 for one Andes server per value, side by side), BENCH_ANDES_VARIANTS (labelled sets of andes-serve
// flags, one server each: see below), BENCH_CLIENT (http, the default: bench/sse-client.mjs; openai: the `openai` SDK's
// streaming client, which costs the client process ~3× the CPU per token), BENCH_ROUNDS (default 1: run every level
// that many times, interleaved, and report each level's rounds pooled, with the 16 vs 1 ratios of each round),
// BENCH_SERVER_LOG (a directory: each server's whole output goes to <label>.log there). Each level also reports the
// server process's CPU seconds (from /proc/<pid>/stat) and generated tokens per server CPU-second, a figure that
// depends less on what else the machine runs than tokens/s, and the CPU-ms per generated token of the server's main
// thread, of its BENCH_COMPUTE_THREADS busiest other threads (default 2: one engine worker and its CPU helper thread)
// with their nice values, of its other threads, and of the clients; and, from its metrics, its refill waits.
import { fork, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { saveGgufModel } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import OpenAI from 'openai';
import { createServedModel } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';
import { scrapeMetrics, stepHistogramsBetween, workload } from './bench-workload.mjs';
import { cpuSecondsOf, servingProcess, threadCpu, threadCpuBetween } from './proc-cpu.mjs';
import { sseClient } from './sse-client.mjs';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PRESET = process.env.BENCH_PRESET ?? 'stories-15m';
const LEVELS = (process.env.BENCH_LEVELS ?? '1,4,16,64').split(',').map(Number);
const SLOTS = Number(process.env.BENCH_SLOTS ?? 16);
const SERVERS = (process.env.BENCH_SERVERS ?? 'andes,llama.cpp').split(',');
const LLAMA_THREADS = Number(process.env.BENCH_LLAMA_THREADS ?? 1);
const CONTEXT = 256;
const CLIENTS_IN = process.env.BENCH_CLIENTS ?? 'inline';
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'lockstep,realistic').split(',');
const STAGGER_MS = Number(process.env.BENCH_STAGGER_MS ?? 1000);
const COMPUTE_THREADS = Number(process.env.BENCH_COMPUTE_THREADS ?? 2);
const CLIENT = process.env.BENCH_CLIENT ?? 'http';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

function quantile(xs, q) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * `clients` streaming clients sending the requests of workload `wl` back to back to `base` for the time budget (at
 * least one each): generated tokens, request counts, TTFTs and inter-token gaps (ms).
 */
async function runClients(base, clients, eos, wl) {
  const sdk = CLIENT === 'openai' ? new OpenAI({ baseURL: `${base}/v1`, apiKey: 'bench', maxRetries: 0 }) : null;
  const http = sdk ? null : sseClient(base, clients);
  const ttft = [];
  /** TTFTs of every request but each client's first (which also pays for its connection and a cold client). */
  const ttftLater = [];
  const itl = [];
  let generated = 0;
  let requests = 0;
  let failed = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const worker = async (w) => {
    const delay = wl.startDelayMs(w);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    for (let r = 0; r === 0 || performance.now() < deadline; r++) {
      const { prompt, maxTokens } = wl.request(w, r);
      const start = performance.now();
      let first = 0;
      let last = 0;
      const onChunk = (chunk, now) => {
        if (chunk.choices[0]?.text) {
          if (!first) first = now;
          else itl.push(now - last);
          last = now;
        }
        if (chunk.usage) generated += chunk.usage.completion_tokens;
      };
      const body = {
        model: PRESET,
        prompt,
        max_tokens: maxTokens,
        temperature: 0.8,
        seed: w * 1000 + r,
        logit_bias: { [eos]: -100 },
        stream: true,
        stream_options: { include_usage: true },
      };
      try {
        if (sdk) for await (const chunk of await sdk.completions.create(body)) onChunk(chunk, performance.now());
        else await http.complete(body, onChunk);
        ttft.push((first || performance.now()) - start);
        if (r > 0) ttftLater.push(ttft.at(-1));
        requests++;
      } catch (e) {
        failed++;
        if (failed <= 3) console.error(`${base}: request failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  http?.close();
  const cpu = process.cpuUsage(cpu0);
  const clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { ttft, ttftLater, itl, generated, requests, failed, wall: (performance.now() - t0) / 1000, clientCpuSeconds };
}

// The client side of BENCH_CLIENTS=process: run one level against the parent's server, report, exit.
if (process.env.BENCH_ROLE === 'clients') {
  const wl = workload(process.env.BENCH_WORKLOAD, TOKENS, STAGGER_MS);
  const out = await runClients(process.env.BENCH_BASE, Number(process.env.BENCH_LEVEL), process.env.BENCH_EOS, wl);
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
  maxContext: Math.min(config.max_position_embeddings, CONTEXT),
});
const engine = served.engine;
console.log(`# andes-serve benchmark — ${PRESET} (random weights), backend ${getBackend().name}`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`,
);
console.log(
  `model: dim ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads, vocab ${config.vocab_size}; ${SLOTS} slots; ${TOKENS} tokens per request`,
);
const fmtMs = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}` : '—');

// 1. Single-stream decode: one sequence, the server's step path, the token drawn on the device (what the server does).
{
  const prompt = tokenizer.encode('Once upon a time, there was a little', { bos: true });
  // Greedy, drawn on the device like the server's steps: one id comes back per step.
  const greedy = { temperature: 0, topK: 0, topP: 1, uniform: 0 };
  const next = async (ids, start) => (await engine.step([{ seq: 0, ids, start, sample: greedy }]))[0].token.id;
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

// 2. Both servers on one GGUF file of these weights (BENCH_FILE_DTYPE, default f32), as child processes.
// q4_k_m: the f32 file quantized by llama.cpp's own Q4_K / Q6_K routines (rows of whole 256-blocks: stories-110m).
const FILE_DTYPE = process.env.BENCH_FILE_DTYPE ?? 'f32';
const dir = mkdtempSync(join(tmpdir(), 'andes-serve-bench-'));
const gguf = join(dir, `${PRESET}.${FILE_DTYPE}.gguf`);
if (FILE_DTYPE === 'q4_k_m') {
  const f32 = join(dir, `${PRESET}.f32.gguf`);
  await saveGgufModel(f32, { config, model, tokenizer, dtype: 'f32' });
  const { writeQ4kmFile } = await import('../../../packages/checkpoint/bench/q4km-file.mjs');
  await writeQ4kmFile(f32, gguf);
} else {
  await saveGgufModel(gguf, { config, model, tokenizer, dtype: FILE_DTYPE });
}
const children = [];
/** Server label → its process id, for its CPU seconds. */
const pids = {};
/** Starts `node args…` and resolves with its base URL once `ready` matches its output (group 1: the URL). */
function start(label, args, ready) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    children.push(child);
    pids[label] = child.pid;
    let out = '';
    let url = null;
    let isReady = false;
    // BENCH_SERVER_LOG=dir keeps each server's whole output (its request log, pipeline compiles…) in dir/label.log.
    const logDir = process.env.BENCH_SERVER_LOG;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const log = logDir ? createWriteStream(resolve(logDir, `${label}.log`)) : null;
    const onData = (d) => {
      log?.write(d);
      // Once ready, keep only a tail for error messages: the server logs every request, and re-scanning the whole
      // log per chunk made this process slower and slower to drain the pipe the server writes its logs to.
      out = isReady ? (out + d).slice(-800) : out + d;
      if (isReady) return;
      url ??= /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? null;
      if (url && ready.test(out)) {
        isReady = true;
        resolvePromise(url);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${label} exited (${code}) before it was ready:\n${out.slice(-800)}`)));
  });
}
const bases = {};
if (SERVERS.includes('andes')) {
  const backend = process.env.ANDES_BACKEND ? ['--backend', process.env.ANDES_BACKEND] : [];
  const cli = resolve(import.meta.dirname, '../bin/andes-serve.js');
  const args = [cli, '--model', gguf, '--model-name', PRESET, '--port', '0', '--max-batch', String(SLOTS)];
  // BENCH_ANDES_NODE_ARGS: extra node flags for the Andes server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_ANDES_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_ENGINE_WORKERS: andes-serve's --engine-workers, or a list (e.g. 0,2) to run one Andes server per value,
  // labelled andes-w0, andes-w2, side by side at every level (unset: one server `andes` with the CLI's default).
  const workerList = process.env.BENCH_ENGINE_WORKERS ? process.env.BENCH_ENGINE_WORKERS.split(',') : [null];
  const variants = workerList.map((w) => ({
    label: w === null || workerList.length === 1 ? 'andes' : `andes-w${w}`,
    extra: w === null ? [] : ['--engine-workers', w],
  }));
  // BENCH_ANDES_VARIANTS: `label:andes-serve flags;label:flags…` (e.g. `w1:--engine-workers 1;w1pf:--engine-workers
  // 1 --prefill-first`), one Andes server per entry labelled andes-<label>, instead of BENCH_ENGINE_WORKERS's list.
  // `label@/path/to/andes-serve.js:flags` runs another build's CLI (e.g. a copy of main's) for before/after rows.
  if (process.env.BENCH_ANDES_VARIANTS) {
    variants.length = 0;
    for (const entry of process.env.BENCH_ANDES_VARIANTS.split(';').filter(Boolean)) {
      const colon = entry.indexOf(':');
      const [name, otherCli] = (colon < 0 ? entry : entry.slice(0, colon)).split('@');
      const flags = colon < 0 ? '' : entry.slice(colon + 1);
      variants.push({ label: `andes-${name.trim()}`, extra: flags.split(' ').filter(Boolean), cli: otherCli });
    }
  }
  for (const { label, extra, cli: otherCli } of variants) {
    const serverArgs = otherCli ? [resolve(otherCli), ...args.slice(1)] : args;
    bases[label] = await start(
      label,
      [...nodeArgs, ...serverArgs, '--context', String(CONTEXT), '--max-queue', '1024', ...backend, ...extra],
      /model ready/,
    );
  }
}
if (SERVERS.includes('llama.cpp')) {
  const script = resolve(import.meta.dirname, 'llama-cpp-server.mjs');
  const args = [
    '--model',
    gguf,
    '--parallel',
    String(SLOTS),
    '--threads',
    String(LLAMA_THREADS),
    '--context',
    String(CONTEXT),
  ];
  bases['llama.cpp'] = await start('llama.cpp', [script, ...args, '--port', '0'], /listening/);
}
console.log(
  `servers on ${gguf}: ${Object.entries(bases)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(`llama.cpp: node-llama-cpp 3.21.1, CPU, ${LLAMA_THREADS} thread(s), ${SLOTS} parallel sequences`);

const eos = String(tokenizer.eosId);
const results = [];
/** One concurrency level of workload `name` against one server: clients send requests back to back for SECONDS. */
async function runLevel(server, clients, name) {
  const metrics0 = await scrapeMetrics(bases[server]);
  const c0 = cpuSecondsOf(pids[server]);
  const serving = servingProcess(pids[server]);
  const threads0 = threadCpu(serving);
  let out;
  if (CLIENTS_IN === 'process') {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: {
        ...process.env,
        BENCH_ROLE: 'clients',
        BENCH_BASE: bases[server],
        BENCH_LEVEL: String(clients),
        BENCH_EOS: eos,
        BENCH_WORKLOAD: name,
      },
    });
    out = await new Promise((resolvePromise, reject) => {
      child.once('message', resolvePromise);
      child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
    });
  } else out = await runClients(bases[server], clients, eos, workload(name, TOKENS, STAGGER_MS));
  const serverCpu = cpuSecondsOf(pids[server]) - c0;
  const threads = threadCpuBetween(serving, threads0, threadCpu(serving), COMPUTE_THREADS);
  const steps = stepHistogramsBetween(metrics0, await scrapeMetrics(bases[server]));
  return summarize({
    server,
    workload: name,
    clients,
    steps,
    ...out,
    serverCpuSeconds: serverCpu,
    threads,
    load: loadavg()[0],
  });
}

/** A level's row from its raw measurements (`samples`: TTFTs and inter-token gaps, kept for pooling rounds). */
function summarize(m) {
  const { ttft, ttftLater, itl, generated, wall, serverCpuSeconds } = m;
  return {
    server: m.server,
    workload: m.workload,
    clients: m.clients,
    steps: m.steps,
    requests: m.requests,
    failed: m.failed,
    generated,
    seconds: wall,
    tokensPerSecond: generated / wall,
    ttftP50: quantile(ttft, 0.5),
    ttftP95: quantile(ttft, 0.95),
    ttftP99: quantile(ttft, 0.99),
    ttftLaterP95: quantile(ttftLater, 0.95),
    ttftMean: ttft.reduce((a, b) => a + b, 0) / ttft.length,
    itlP50: quantile(itl, 0.5),
    itlP95: quantile(itl, 0.95),
    itlP99: quantile(itl, 0.99),
    serverCpuSeconds,
    threads: m.threads,
    tokensPerServerCpuSecond: generated / serverCpuSeconds,
    clientCpuSeconds: m.clientCpuSeconds,
    load: m.load,
    samples: { ttft, ttftLater, itl },
  };
}

/**
 * One row for the BENCH_ROUNDS rounds of a level: tokens and seconds summed (so tokens/s is over all its seconds),
 * percentiles over all its requests and gaps together.
 */
function pool(rows) {
  if (rows.length === 1) return rows[0];
  const sum = (f) => rows.reduce((a, r) => a + f(r), 0);
  const all = (k) => rows.flatMap((r) => r.samples[k]);
  return summarize({
    ...rows[0],
    steps: null,
    requests: sum((r) => r.requests),
    failed: sum((r) => r.failed),
    generated: sum((r) => r.generated),
    wall: sum((r) => r.seconds),
    serverCpuSeconds: sum((r) => r.serverCpuSeconds),
    clientCpuSeconds: sum((r) => r.clientCpuSeconds),
    ttft: all('ttft'),
    ttftLater: all('ttftLater'),
    itl: all('itl'),
    load: sum((r) => r.load) / rows.length,
  });
}

// Levels interleaved (Andes, then llama.cpp, at each level), so drifts in the machine's load hit both.
// With BENCH_ROUNDS = n, the whole sequence runs n times, so that the one-client and 16-client levels of a ratio
// alternate in time n times instead of once (a drift of this shared machine's load over minutes hit one of them).
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of WORKLOADS) {
      for (const clients of LEVELS) {
        for (const server of Object.keys(bases)) {
          const row = { ...(await runLevel(server, clients, name)), round };
          results.push(row);
          console.log(
            `${ROUNDS > 1 ? `round ${round}: ` : ''}${name} ${server} clients ${clients}: ${row.tokensPerSecond.toFixed(1)} tokens/s aggregate; TTFT p50/p95/p99 ${fmtMs(row.ttftP50)}/${fmtMs(row.ttftP95)}/${fmtMs(row.ttftP99)} ms; inter-token p50/p95/p99 ${fmtMs(row.itlP50)}/${fmtMs(row.itlP95)}/${fmtMs(row.itlP99)} ms (p95 without each client's first request ${fmtMs(row.ttftLaterP95)} ms; ${row.requests} requests, ${row.failed} failed, ${row.generated} tokens, ${row.seconds.toFixed(1)} s; server ${row.serverCpuSeconds.toFixed(1)} CPU-s, ${row.tokensPerServerCpuSecond.toFixed(1)} tokens/CPU-s; clients ${row.clientCpuSeconds.toFixed(1)} CPU-s; load ${row.load.toFixed(1)})`,
          );
          const perToken = (s) => ((1000 * s) / row.generated).toFixed(2);
          const { main, compute, other } = row.threads;
          console.log(
            `  CPU-ms per generated token: server main thread ${perToken(main)}, compute threads ${compute.map((t) => `${perToken(t.seconds)} (nice ${t.nice})`).join(', ')}, other threads ${perToken(other)}; client process ${perToken(row.clientCpuSeconds)}`,
          );
          if (row.steps) {
            const { prefill, decode, steps, stepSeconds, serverTtftMean, refillWaits, refillWaitSeconds } = row.steps;
            const waits =
              refillWaits > 0
                ? `; ${refillWaits} refill waits, ${((1000 * refillWaitSeconds) / refillWaits).toFixed(1)} ms each on average`
                : Number.isFinite(refillWaits)
                  ? '; no refill waits'
                  : '';
            console.log(
              `  ${steps} steps, ${stepSeconds.toFixed(1)} s in steps (${((100 * stepSeconds) / row.seconds).toFixed(0)} % of wall); mean TTFT in the scheduler ${fmtMs(serverTtftMean * 1000)} ms, at the client ${fmtMs(row.ttftMean)} ms; steps by sequences prefilled ${prefill}; by decode batch ${decode}${waits}`,
            );
          }
        }
      }
    }
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
}

/** Each level's rounds pooled (see {@link pool}), in the order they first ran. */
const pooled = [];
for (const r of results) {
  if (pooled.some((p) => p.workload === r.workload && p.server === r.server && p.clients === r.clients)) continue;
  pooled.push(
    pool(results.filter((x) => x.workload === r.workload && x.server === r.server && x.clients === r.clients)),
  );
}

for (const name of WORKLOADS) {
  console.log(
    `\n${name}\n| clients | server | tokens/s | tokens/server CPU-s | TTFT p50 / p95 / p99 ms | inter-token p50 / p95 / p99 ms | failed |`,
  );
  console.log('| ---: | --- | ---: | ---: | --- | --- | ---: |');
  for (const r of pooled.filter((x) => x.workload === name)) {
    console.log(
      `| ${r.clients} | ${r.server} | ${r.tokensPerSecond.toFixed(1)} | ${r.tokensPerServerCpuSecond.toFixed(1)} | ${fmtMs(r.ttftP50)} / ${fmtMs(r.ttftP95)} / ${fmtMs(r.ttftP99)} | ${fmtMs(r.itlP50)} / ${fmtMs(r.itlP95)} / ${fmtMs(r.itlP99)} | ${r.failed} |`,
    );
  }
  const at = (server, clients, rows = pooled) =>
    rows.find((r) => r.workload === name && r.server === server && r.clients === clients);
  for (const clients of LEVELS) {
    for (const andes of Object.keys(bases).filter((k) => k.startsWith('andes'))) {
      const a = at(andes, clients);
      const l = at('llama.cpp', clients);
      if (a && l) {
        console.log(
          `${name}, ${clients} clients, ${andes} / llama.cpp: tokens/s ${(a.tokensPerSecond / l.tokensPerSecond).toFixed(2)}×, tokens/server CPU-s ${(a.tokensPerServerCpuSecond / l.tokensPerServerCpuSecond).toFixed(2)}×, TTFT p50 ${(a.ttftP50 / l.ttftP50).toFixed(2)}×, inter-token p50 ${(a.itlP50 / l.itlP50).toFixed(2)}×`,
        );
      }
    }
  }
  for (const server of Object.keys(bases)) {
    const one = at(server, 1);
    const sixteen = at(server, 16);
    if (!one || !sixteen) continue;
    console.log(
      `${name}, ${server}: throughput 16 vs 1 clients ${(sixteen.tokensPerSecond / one.tokensPerSecond).toFixed(2)}× (target ≥ 4×); TTFT p95 at 16 vs p95 at 1 ${(sixteen.ttftP95 / one.ttftP95).toFixed(2)}× (target ≤ 2×), vs p50 at 1 ${(sixteen.ttftP95 / one.ttftP50).toFixed(2)}×, without each client's first request ${(sixteen.ttftLaterP95 / one.ttftLaterP95).toFixed(2)}×; tokens per server CPU-s 16 vs 1 ${(sixteen.tokensPerServerCpuSecond / one.tokensPerServerCpuSecond).toFixed(2)}× (clients ${CLIENTS_IN}, ${CLIENT})`,
    );
    if (ROUNDS > 1) {
      const byRound = Array.from({ length: ROUNDS }, (_, i) => {
        const round = results.filter((r) => r.round === i + 1);
        const ratio = (f) => (f(at(server, 16, round)) / f(at(server, 1, round))).toFixed(2);
        return `${ratio((r) => r.tokensPerSecond)}× / ${ratio((r) => r.ttftP95)}×`;
      });
      console.log(`  by round, throughput / TTFT p95 16 vs 1: ${byRound.join(', ')}`);
    }
  }
}
console.log(`failed requests: ${results.reduce((n, r) => n + r.failed, 0)}; load after: ${loadavg()[0].toFixed(2)}`);
if (process.env.BENCH_JSON) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    process.env.BENCH_JSON,
    `${JSON.stringify(
      {
        preset: PRESET,
        backend: getBackend().name,
        llamaThreads: LLAMA_THREADS,
        rounds: ROUNDS,
        client: CLIENT,
        results: pooled.concat(ROUNDS > 1 ? results : []).map(({ samples, ...r }) => r),
      },
      null,
      2,
    )}\n`,
  );
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
