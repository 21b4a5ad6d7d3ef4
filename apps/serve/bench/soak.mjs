// Soak test of andes-serve (a script, not a test): SOAK_CLIENTS streaming clients (default 64) send requests back to
// back for SOAK_SECONDS (default 600), and a random SOAK_CANCEL fraction of requests (default 0.2) is aborted by its
// client after a random delay. At the end the server must have served every request it was not told to abandon
// (zero failed requests), and hold nothing: no running sequence, no queued request, no KV positions in use.
// Exit code 1 otherwise.
//
//   ANDES_BACKEND=cpu SOAK_SECONDS=600 node bench/soak.mjs     # after npm run build
//
// Environment also: SOAK_PRESET (default stories-15m), SOAK_TOKENS (max tokens per request, default 24),
// SOAK_SLOTS (KV-cache slots, default 16), SOAK_KV_DTYPE (the KV cache: float32, float16 or bfloat16; default
// float32), SOAK_ENGINE_WORKERS (default: andes-serve's for the backend, 1 on the CPU;
// with workers the model is written to a temporary GGUF file and served through loadServedModel, as the CLI does),
// SOAK_FILE_DTYPE (that file's type, default f32; q8_0 or q4_0 serve its blocks kept, the CLI's default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { saveGgufModel } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import OpenAI from 'openai';
import { createServedModel, createServer, defaultEngineWorkers, loadServedModel } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 64);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CANCEL = Number(process.env.SOAK_CANCEL ?? 0.2);
const PRESET = process.env.SOAK_PRESET ?? 'stories-15m';
const TOKENS = Number(process.env.SOAK_TOKENS ?? 24);
const SLOTS = Number(process.env.SOAK_SLOTS ?? 16);
/** The KV cache's element type (andes-serve's `--kv-dtype`, as float32 | float16 | bfloat16). */
const KV_DTYPE = process.env.SOAK_KV_DTYPE ?? 'float32';

// A seeded generator, so a failing run can be repeated.
let state = Number(process.env.SOAK_SEED ?? 1) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

await initBackend();
const tokenizer = await benchTokenizer();
const config = llamaPreset(PRESET, { vocab_size: tokenizer.vocabSize });
const model = new LlamaForCausalLM(config, { seed: 1 });
const maxContext = Math.min(config.max_position_embeddings, 256);
const WORKERS = Number(process.env.SOAK_ENGINE_WORKERS ?? defaultEngineWorkers(getBackend().name));
const dir = WORKERS > 0 ? mkdtempSync(join(tmpdir(), 'andes-soak-')) : null;
let served;
if (dir) {
  const fileDtype = process.env.SOAK_FILE_DTYPE ?? 'f32';
  const gguf = join(dir, `${PRESET}.${fileDtype}.gguf`);
  await saveGgufModel(gguf, { config, model, tokenizer, dtype: fileDtype });
  model.dispose();
  served = await loadServedModel(gguf, {
    id: PRESET,
    maxSlots: SLOTS,
    maxContext,
    engineWorkers: WORKERS,
    chatTemplate: 'llama-2',
    kvDtype: KV_DTYPE,
  });
} else {
  served = createServedModel({
    id: PRESET,
    model,
    tokenizer,
    template: 'llama-2',
    maxSlots: SLOTS,
    maxContext,
    kvDtype: KV_DTYPE,
  });
}
const server = createServer({ load: async () => served, maxQueue: 4 * CLIENTS });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
await server.loaded;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'soak', maxRetries: 0 });
console.log(
  `# soak: ${CLIENTS} clients, ${SECONDS} s, ${(CANCEL * 100).toFixed(0)} % cancelled, ${PRESET}, backend ${getBackend().name}, ${WORKERS} engine worker(s)`,
);

const counts = { completed: 0, cancelled: 0, failed: 0, tokens: 0 };
const failures = [];
const deadline = performance.now() + SECONDS * 1000;
const worker = async (w) => {
  for (let r = 0; performance.now() < deadline; r++) {
    const abort = new AbortController();
    const cancelAfter = random() < CANCEL ? random() * 1500 : -1;
    const timer = cancelAfter >= 0 ? setTimeout(() => abort.abort(), cancelAfter) : undefined;
    const chat = random() < 0.5;
    try {
      const body = {
        model: PRESET,
        max_tokens: 1 + Math.floor(random() * TOKENS),
        temperature: random() < 0.3 ? 0 : 0.9,
        stream: true,
        stream_options: { include_usage: true },
      };
      const stream = chat
        ? await client.chat.completions.create(
            { ...body, messages: [{ role: 'user', content: `Tell story ${w}-${r}.` }] },
            { signal: abort.signal },
          )
        : await client.completions.create({ ...body, prompt: `Story ${w}-${r}: Once` }, { signal: abort.signal });
      for await (const chunk of stream) if (chunk.usage) counts.tokens += chunk.usage.completion_tokens;
      counts.completed++;
    } catch (e) {
      if (abort.signal.aborted) counts.cancelled++;
      else {
        counts.failed++;
        if (failures.length < 10) failures.push(e instanceof Error ? e.message : String(e));
      }
    } finally {
      clearTimeout(timer);
    }
  }
};
const progress = setInterval(() => console.log(`${new Date().toISOString()} ${JSON.stringify(counts)}`), 60_000);
const t0 = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
clearInterval(progress);
const wall = (performance.now() - t0) / 1000;
// Give aborted sequences the one token boundary they need to be reaped.
const s = server.scheduler();
for (let i = 0; i < 100 && (s.busy || s.engine.blocks.usedBlocks > 0); i++) await new Promise((r) => setTimeout(r, 50));
const leftover = {
  running: s.runningCount,
  queued: s.queueDepth,
  kvPositions: s.kvPositionsInUse,
  kvBlocksUsed: s.engine.blocks.usedBlocks,
};
console.log(
  `done in ${wall.toFixed(0)} s: ${counts.completed} completed, ${counts.cancelled} cancelled by their clients, ` +
    `${counts.failed} failed, ${counts.tokens} tokens (${(counts.tokens / wall).toFixed(1)} tokens/s); ` +
    `left on the server: ${JSON.stringify(leftover)}`,
);
for (const f of failures) console.log(`failure: ${f}`);
await server.shutdown(1000);
if (dir) rmSync(dir, { recursive: true, force: true });
const ok =
  counts.failed === 0 &&
  leftover.running === 0 &&
  leftover.queued === 0 &&
  leftover.kvPositions === 0 &&
  leftover.kvBlocksUsed === 0;
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
