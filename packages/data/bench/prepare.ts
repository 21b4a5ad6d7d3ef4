/**
 * `prepare` throughput against its ceiling, and the loader reading shards vs tokenizing on the fly.
 *   npx tsc -b packages/data && npx tsc -p packages/data/bench/tsconfig.json && node packages/data/bench/dist/prepare.js
 * Env: MB (20) of story JSONL (compressed with the system `zstd`), TOKENIZER (default: the LLaMA 2 fixture in
 * /work/shared/fixtures, else a 4096-piece BPE trained here), BATCHES (300).
 * Prints: tokenizer alone on one thread (the ceiling per thread), prepare with 0/1/2 worker threads, with and without
 * filters (MB/s of raw text, tokens/s), and loader tokens/s from shards vs from the raw files.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoader, type MixtureConfig, syntheticStory } from '@andes/data';
import { mixtureFromManifest, openRecordReader, prepareShards } from '@andes/data/node';
import { writeFileAtomic } from '@andes/tensor/node';
import { loadTokenizer, trainBpe } from '@andes/tokenizer';

const dir = mkdtempSync(join(tmpdir(), 'andes-prepare-bench-'));
const targetBytes = Number(process.env.MB ?? 20) * 1e6;
const files = 4;
let index = 0;
let rawBytes = 0;
for (let f = 0; f < files; f++) {
  const lines: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes / files) {
    const text = syntheticStory(1, index++);
    bytes += Buffer.byteLength(text);
    lines.push(JSON.stringify({ text }));
  }
  rawBytes += bytes;
  const r = spawnSync('zstd', ['-q', '-3', '-c'], { input: `${lines.join('\n')}\n`, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error('prepare bench: the `zstd` binary is missing or failed');
  writeFileSync(join(dir, `stories-${f}.jsonl.zst`), r.stdout);
}
console.log(`corpus: ${index} stories, ${(rawBytes / 1e6).toFixed(1)} MB of text in ${files} .jsonl.zst files`);

const fixture = process.env.TOKENIZER ?? '/work/shared/fixtures/llama2-tokenizer.model';
let tokenizerPath = fixture;
if (!existsSync(fixture)) {
  const texts = Array.from({ length: 3000 }, (_, i) => syntheticStory(1, i));
  tokenizerPath = join(dir, 'tokenizer.model');
  await (await trainBpe(texts, { vocabSize: 4096 })).save(tokenizerPath, writeFileAtomic);
}
const tokenizer = await loadTokenizer(tokenizerPath);
console.log(`tokenizer: ${tokenizerPath} (${tokenizer.vocabSize} pieces)`);

// Wall time depends on what else runs on the machine; CPU seconds (all threads of this process) do not, so both are
// printed: tokens per CPU-second is what the pipeline costs, tokens per wall-second what it delivered.
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
// Ceiling: decompress + parse + encode on one thread, no writing.
let cpu = process.cpuUsage();
let t0 = performance.now();
let tokens = 0;
for (let f = 0; f < files; f++) {
  const reader = await openRecordReader(join(dir, `stories-${f}.jsonl.zst`));
  for (let r = await reader.next(); r !== null; r = await reader.next()) tokens += tokenizer.encode(r.text).length;
}
let s = (performance.now() - t0) / 1000;
console.log(
  `${'tokenizer alone, 1 thread:'.padEnd(40)} ${(rawBytes / 1e6 / s).toFixed(2)} MB/s, ${Math.round(tokens / s)} tokens/s, ` +
    `${Math.round(tokens / cpuSeconds(cpu))} tokens/CPU-s`,
);

const mixture = (filters?: string[]): MixtureConfig => ({
  sources: [
    {
      name: 'stories',
      type: 'jsonl',
      path: 'stories-*.jsonl.zst',
      weight: 1,
      epochs: 1,
      ...(filters ? { filters } : {}),
    },
  ],
});
const runs: [string, number, string[] | undefined][] = [
  ['prepare, main thread', 0, undefined],
  ['prepare, 1 worker', 1, undefined],
  ['prepare, 2 workers', 2, undefined],
  ['prepare, 2 workers, c4 + exact-dedup', 2, ['c4', 'exact-dedup']],
];
for (const [label, workers, filters] of runs) {
  const out = join(dir, `shards-${workers}-${filters ? 'f' : 'n'}`);
  cpu = process.cpuUsage();
  t0 = performance.now();
  const m = await prepareShards({ mixture: mixture(filters), baseDir: dir, tokenizerPath, outDir: out, workers });
  s = (performance.now() - t0) / 1000;
  const kept = m.sources[0]!.kept.tokens;
  console.log(
    `${`${label}:`.padEnd(40)} ${(rawBytes / 1e6 / s).toFixed(2)} MB/s, ${Math.round(kept / s)} tokens/s, ` +
      `${Math.round(kept / cpuSeconds(cpu))} tokens/CPU-s`,
  );
}

// Loader: 16 × 128 batches from shards vs tokenizing the same files on the fly.
const batches = Number(process.env.BATCHES ?? 300);
const shardDir = join(dir, 'shards-2-n');
const manifest = (await import(join(shardDir, 'manifest.json'), { with: { type: 'json' } })).default;
for (const [label, mix, baseDir] of [
  ['loader from raw .jsonl.zst', mixture(), dir],
  ['loader from shards', mixtureFromManifest(manifest), shardDir],
] as const) {
  const loader = await createLoader({ mixture: mix, baseDir, tokenizer, seqLen: 128, batchSize: 16, valFraction: 0 });
  await loader.next();
  t0 = performance.now();
  let n = 0;
  for (; n < batches; n++) if ((await loader.next()) === null) break;
  s = (performance.now() - t0) / 1000;
  console.log(`${`${label}:`.padEnd(40)} ${Math.round((n * 16 * 128) / s)} tokens/s (${n} batches)`);
  await loader.close();
}
rmSync(dir, { recursive: true, force: true });
