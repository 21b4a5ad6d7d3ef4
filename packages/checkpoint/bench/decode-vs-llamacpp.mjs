// Benchmark: decode tokens/s of a stories-110m-shaped model (random weights, synthetic 32000-piece SentencePiece
// vocabulary) written by Andes as GGUF f32 / f16 / q8_0 / q4_0 (and q4_k_m: the f32 file quantized by llama.cpp's
// own Q4_K / Q6_K routines, q4km-file.mjs), in llama.cpp (node-llama-cpp 3.21.1, CPU, same
// threads) and in Andes, its linear weights kept in the file's type (`loadModel(path, { dtype: 'keep' })`, decoded
// inside the matmul kernels). backend `cpu` (default) or `webgpu` runs Andes there; `skip-llama` omits llama.cpp.
// Besides wall-clock tokens/s it prints tokens per CPU-second of this process (llama.cpp runs its thread in-process),
// which a shared, loaded machine disturbs far less than wall time.
// usage: node packages/checkpoint/bench/decode-vs-llamacpp.mjs [threads=2] [tokens=32] [dtypes=f32,f16,q8_0,q4_0]
//          [backend=cpu] [skip-llama] [rounds=1]
// After one untimed round of every model (V8 tiers the hot JS and wasm up during the first tokens; llama.cpp pages
// its weights in), each of `rounds` rounds runs every dtype once, llama.cpp then Andes back to back, the order of
// the dtypes alternating between rounds; rows give medians over the rounds, and the last column the lowest and the
// highest per-round ratio of tokens per CPU-second. `ids` counts how many of the greedy tokens (of the last round)
// Andes and llama.cpp agree on before the first difference.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveGgufModel } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { andesDecode, cpuSeconds, keptModel } from './decode-models.mjs';
import { writeQ4kmFile } from './q4km-file.mjs';
import { syntheticTokenizer } from './synthetic-tokenizer.mjs';

const threads = Number(process.argv[2] ?? 2);
const tokens = Number(process.argv[3] ?? 32);
const dtypes = (process.argv[4] ?? 'f32,f16,q8_0,q4_0').split(',');
const backend = process.argv[5] ?? 'cpu';
const skipLlama = process.argv[6] === 'skip-llama';
const rounds = Number(process.argv[7] ?? 1);

await setBackend('cpu'); // the files are written from a CPU model
// A folder of this run's own: engineers sharing the machine run this bench at the same time.
const out = await mkdtemp(join(tmpdir(), 'andes-bench-decode-'));
const config = llamaPreset('stories-110m');
const tokenizer = syntheticTokenizer(config.vocab_size);
const prompt = [1, 400, 500, 600, 700, 800, 900, 1000];
const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
console.log(`stories-110m shape, ${tokens} decode tokens after an 8-token prompt, ${threads} threads`);
console.log(
  `| dtype | llama.cpp tok/s | Andes ${backend} tok/s (weights kept) | Andes / llama.cpp | llama.cpp tok/CPU-s | ` +
    'Andes tok/CPU-s | Andes / llama.cpp (CPU) | per round (CPU) | ids |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
{
  const model = new LlamaForCausalLM(config, { seed: 1 });
  for (const dtype of dtypes) {
    if (dtype === 'q4_k_m') continue;
    await saveGgufModel(join(out, `m.${dtype}.gguf`), { config, model, tokenizer, dtype });
  }
  if (dtypes.includes('q4_k_m')) {
    const f32 = join(out, 'm.f32.gguf');
    if (!dtypes.includes('f32')) await saveGgufModel(f32, { config, model, tokenizer, dtype: 'f32' });
    await writeQ4kmFile(f32, join(out, 'm.q4_k_m.gguf'));
  }
  model.dispose();
}
await setBackend(backend);
const models = [];
for (const dtype of dtypes) {
  const path = join(out, `m.${dtype}.gguf`);
  const cpp = skipLlama ? null : await llamaCppModel(path);
  const andesModel = await keptModel(path);
  models.push({ dtype, cpp, andesModel, runs: [], cppRuns: [], ids: [], cppIds: [] });
}
const NO_RUN = { wall: Number.NaN, perCpu: Number.NaN, ids: [] };
// Round -1 is untimed: a CPU weight moves into wasm memory on its first or second use, and the JIT tiers up.
for (let round = -1; round < rounds; round++) {
  for (const entry of round % 2 ? models : [...models].reverse()) {
    const cpp = entry.cpp ? await entry.cpp.decode() : NO_RUN;
    const andes = await andesDecode(entry.andesModel, prompt, tokens);
    if (round < 0) continue;
    entry.cppRuns.push(cpp);
    entry.runs.push(andes);
    [entry.ids, entry.cppIds] = [andes.ids, cpp.ids];
  }
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const { dtype, cpp, andesModel, runs, cppRuns, ids, cppIds } of models) {
  andesModel.dispose();
  await cpp?.dispose();
  const [andes, cppWall] = [median(runs.map((r) => r.wall)), median(cppRuns.map((r) => r.wall))];
  const [perCpu, cppCpu] = [median(runs.map((r) => r.perCpu)), median(cppRuns.map((r) => r.perCpu))];
  const ratios = runs.map((r, i) => r.perCpu / cppRuns[i].perCpu);
  const same = ids.findIndex((id, i) => id !== cppIds[i]);
  // Without llama.cpp (skip-llama) its columns and the ratios print as dashes, not NaN.
  const num = (v, digits, unit = '') => (Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '—');
  const range = `${num(Math.min(...ratios), 2)}–${num(Math.max(...ratios), 2, '×')}`;
  console.log(
    `| ${dtype} | ${num(cppWall, 1)} | ${andes.toFixed(1)} | ${num(andes / cppWall, 2, '×')} | ` +
      `${num(cppCpu, 1)} | ${perCpu.toFixed(1)} | ${num(perCpu / cppCpu, 2, '×')} | ${skipLlama ? '—' : range} | ` +
      `${skipLlama ? '—' : `${same < 0 ? ids.length : same}/${ids.length}`} |`,
  );
}
await llama.dispose();
await rm(out, { recursive: true, force: true });

/**
 * llama.cpp on `path` (CPU, `threads` threads), loaded once: `decode()` evaluates the prompt on a cleared sequence
 * and measures the next `tokens` tokens per wall and per CPU second, with the ids.
 */
async function llamaCppModel(path) {
  const lm = await llama.loadModel({ modelPath: path });
  const context = await lm.createContext({ contextSize: 256, threads, batchSize: 64 });
  const sequence = context.getSequence();
  return {
    async decode() {
      await sequence.clearHistory();
      const ids = [];
      let t0 = 0;
      let c0 = process.cpuUsage();
      for await (const id of sequence.evaluate(prompt, { temperature: 0 })) {
        if (ids.length === 0) {
          t0 = performance.now(); // the first token ends the prefill
          c0 = process.cpuUsage();
        }
        ids.push(id);
        if (ids.length > tokens) break;
      }
      return { wall: (tokens / (performance.now() - t0)) * 1000, perCpu: tokens / cpuSeconds(c0), ids };
    },
    async dispose() {
      await context.dispose();
      await lm.dispose();
    },
  };
}
