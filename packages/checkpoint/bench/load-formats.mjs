// Benchmark: write a stories-110m-shaped random model in each format/dtype, then load it in a fresh process and
// report load time and peak RSS (the streaming goal: never two full copies of the model in memory).
// usage: node packages/checkpoint/bench/load-formats.mjs [preset=stories-110m] [outDir=/tmp/andes-bench-formats]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModel } from '@andes/checkpoint';
import { countParameters, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { setBackend } from '@andes/tensor';

const [, , preset = 'stories-110m', out = '/tmp/andes-bench-formats'] = process.argv;

if (process.env.ANDES_BENCH_LOAD) {
  const { loadModel } = await import('@andes/checkpoint');
  const t = performance.now();
  const loaded = await loadModel(process.env.ANDES_BENCH_LOAD);
  const seconds = (performance.now() - t) / 1000;
  // VmHWM, not getrusage's maxRSS: the latter survives exec and would count the parent's memory at fork time.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const rss = hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ seconds, rss, tensors: loaded.tensors.size }));
  process.exit(0);
}

await setBackend('cpu');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const config = llamaPreset(preset);
const params = countParameters(config).total;
const model = new LlamaForCausalLM(config, { seed: 1 });
const state = new Map();
for (const [name, t] of model.stateDict()) state.set(name, { shape: [...t.shape], data: await t.data() });
model.dispose();
const f32Bytes = params * 4;
console.log(`${preset}: ${(params / 1e6).toFixed(1)} M parameters, float32 ${(f32Bytes / 2 ** 20).toFixed(0)} MiB`);
console.log('| file | dtype | size | write s | load s | load peak RSS |');
console.log('|---|---|---|---|---|---|');
for (const [file, dtype] of [
  ['model.f32.gguf', 'f32'],
  ['model.f16.gguf', 'f16'],
  ['model.q8_0.gguf', 'q8_0'],
  ['model.q4_0.gguf', 'q4_0'],
  ['llama2c/model.bin', 'f32'],
  ['hf', 'f32'],
  ['hf-f16', 'f16'],
]) {
  const path = join(out, file);
  const t = performance.now();
  await saveModel(path, { config, stateDict: state, dtype });
  const write = (performance.now() - t) / 1000;
  const size = (await stat(file.startsWith('hf') ? join(path, 'model.safetensors') : path)).size;
  const r = spawnSync(process.execPath, [process.argv[1]], {
    env: { ...process.env, ANDES_BENCH_LOAD: path },
    encoding: 'utf8',
  });
  const load = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(
    `| ${file} | ${dtype} | ${(size / 2 ** 20).toFixed(0)} MiB | ${write.toFixed(1)} | ${load.seconds.toFixed(1)} | ${(load.rss / 2 ** 20).toFixed(0)} MiB |`,
  );
}
await rm(out, { recursive: true, force: true });
