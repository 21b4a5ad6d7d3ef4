// Benchmark: stories-110m-shaped Q4_0 decode on the CPU backend, the block kernels on WebAssembly relaxed SIMD against
// the plain SIMD kernels (`setWasmRelaxedSimd`), in one process on one model: rounds alternate the two (the order
// flips every round) so that machine load hits both alike. Prints tokens per CPU-second per round and the medians,
// and whether both produced the same greedy ids (they must: the two kernels' outputs are equal bit for bit).
// usage: node packages/checkpoint/bench/decode-relaxed-ab.mjs [rounds=11] [tokens=16] [dtype=q4_0]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveGgufModel } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { setBackend, setWasmRelaxedSimd } from '@andes/tensor';
import { andesDecode, keptModel } from './decode-models.mjs';
import { syntheticTokenizer } from './synthetic-tokenizer.mjs';

const rounds = Number(process.argv[2] ?? 11);
const tokens = Number(process.argv[3] ?? 16);
const dtype = process.argv[4] ?? 'q4_0';
const prompt = [1, 400, 500, 600, 700, 800, 900, 1000];

await setBackend('cpu');
const out = await mkdtemp(join(tmpdir(), 'andes-bench-relaxed-'));
const config = llamaPreset('stories-110m');
const path = join(out, `m.${dtype}.gguf`);
{
  const model = new LlamaForCausalLM(config, { seed: 1 });
  await saveGgufModel(path, { config, model, tokenizer: syntheticTokenizer(config.vocab_size), dtype });
  model.dispose();
}
const model = await keptModel(path);

/** Tokens per CPU-second of `tokens` greedy decode steps after the prompt, and the ids. */
async function decode() {
  const run = await andesDecode(model, prompt, tokens);
  return { perCpu: run.perCpu, ids: run.ids.join(',') };
}

const variants = { relaxed: [], plain: [] };
const ids = {};
// One untimed run each first: weights move into wasm memory, and the JIT tiers the hot code up.
for (const name of Object.keys(variants)) {
  setWasmRelaxedSimd(name === 'relaxed');
  await decode();
}
for (let round = 0; round < rounds; round++) {
  const names = Object.keys(variants);
  for (const name of round % 2 ? names.reverse() : names) {
    setWasmRelaxedSimd(name === 'relaxed');
    const run = await decode();
    variants[name].push(run.perCpu);
    ids[name] = run.ids;
  }
}
setWasmRelaxedSimd(undefined);
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const [name, runs] of Object.entries(variants)) {
  console.log(
    `${name}: median ${median(runs).toFixed(1)} tok/CPU-s; rounds ${runs.map((r) => r.toFixed(1)).join(' ')}`,
  );
}
console.log(`relaxed / plain: ${(median(variants.relaxed) / median(variants.plain)).toFixed(2)}×`);
console.log(`same greedy ids: ${ids.relaxed === ids.plain}`);
model.dispose();
await rm(out, { recursive: true, force: true });
