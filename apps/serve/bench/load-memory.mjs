// Peak resident memory of loading a model the way andes-serve does (loadServedModel, then the warm-up), per
// `--engine-workers` value, each in a fresh child process: with engine workers the weights should be in memory
// once per worker and never also on the main thread. The random-weight model (LOAD_PRESET, default stories-110m) is
// written as an f32 GGUF with the bench tokenizer to a temporary directory, deleted at the end.
//
//   ANDES_BACKEND=cpu npm run bench:load-memory -w @andes/serve      # after npm run build
//
// Environment also: LOAD_WORKERS (default 0,1), LOAD_SLOTS (KV-cache sequences, default 16).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { saveRandomGgufModel } from '@andes/checkpoint';
import { llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { loadServedModel, warmUp } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const SLOTS = Number(process.env.LOAD_SLOTS ?? 16);

if (process.env.LOAD_ROLE === 'child') {
  await initBackend();
  const t0 = performance.now();
  const served = await loadServedModel(process.env.LOAD_MODEL, {
    id: 'm',
    maxSlots: SLOTS,
    engineWorkers: Number(process.env.LOAD_ENGINE_WORKERS),
  });
  await warmUp(served.engine);
  const seconds = (performance.now() - t0) / 1000;
  // maxRSS covers every thread of the process (the engine workers' heaps and wasm memories included), in KiB.
  console.log(JSON.stringify({ peakRssGB: process.resourceUsage().maxRSS / 1024 ** 2, seconds }));
  served.engine.dispose();
  process.exit(0);
}

await initBackend();
const preset = process.env.LOAD_PRESET ?? 'stories-110m';
const tokenizer = await benchTokenizer();
const config = llamaPreset(preset, { vocab_size: tokenizer.vocabSize });
const dir = mkdtempSync(join(tmpdir(), 'andes-load-memory-'));
try {
  const gguf = join(dir, `${preset}.f32.gguf`);
  await saveRandomGgufModel(gguf, { config, dtype: 'f32', seed: 1, tokenizer });
  console.log(
    `# load memory — ${preset} f32 GGUF (${(statSync(gguf).size / 1e9).toFixed(2)} GB), ${SLOTS} slots × ` +
      `${config.max_position_embeddings} positions, backend ${getBackend().name}, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(
    '| engine workers | peak RSS GB | load + warm-up s |\n| -------------- | ----------- | ---------------- |',
  );
  for (const workers of (process.env.LOAD_WORKERS ?? '0,1').split(',')) {
    const out = execFileSync(process.execPath, [import.meta.filename], {
      env: { ...process.env, LOAD_ROLE: 'child', LOAD_MODEL: gguf, LOAD_ENGINE_WORKERS: workers },
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    console.log(`| ${workers} | ${r.peakRssGB.toFixed(2)} | ${r.seconds.toFixed(1)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
