/**
 * Peak memory of streaming a large `.jsonl.zst` (acceptance: 1 GB of JSONL under 300 MB RSS). Generates the file in
 * /tmp through the system `zstd` binary (one frame, as RedPajama ships them; Debian package `zstd`), reads it back
 * in a fresh process with `openRecordReader`, prints documents, MB/s and the reader's peak RSS, then deletes the file.
 *   npx tsc -b packages/data && npx tsc -p packages/data/bench/tsconfig.json && node packages/data/bench/dist/zst-stream.js
 * Env: GB (1), LEVEL (3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '@andes/data';
import { openRecordReader } from '@andes/data/node';

if (process.argv[2] === 'read') {
  const t0 = performance.now();
  const reader = await openRecordReader(process.argv[3]!);
  let docs = 0;
  let bytes = 0;
  for (let r = await reader.next(); r !== null; r = await reader.next()) {
    docs++;
    bytes += r.text.length;
  }
  await reader.close();
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ docs, textChars: bytes, seconds: s, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const target = Number(process.env.GB ?? 1) * 1e9;
const path = `/tmp/andes-bench-${process.pid}.jsonl.zst`;
if (spawnSync('zstd', ['--version']).status !== 0) throw new Error('zstd-stream bench: the `zstd` binary is missing');
const zstd = spawn('zstd', ['-q', `-${process.env.LEVEL ?? 3}`, '-T1', '-o', path], {
  stdio: ['pipe', 'inherit', 'inherit'],
});
const rng = new SeededRandom(1);
const vocab = Array.from({ length: 5000 }, () =>
  Array.from({ length: 2 + rng.int(8) }, () => String.fromCharCode(97 + rng.int(26))).join(''),
);
let written = 0;
let t0 = performance.now();
while (written < target) {
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) {
    const words = Array.from({ length: 100 + rng.int(500) }, () => vocab[rng.int(vocab.length)]!);
    lines.push(JSON.stringify({ text: words.join(' '), meta: { id: written + i } }));
  }
  const chunk = `${lines.join('\n')}\n`;
  written += Buffer.byteLength(chunk);
  if (!zstd.stdin.write(chunk)) await new Promise((r) => zstd.stdin.once('drain', r));
}
zstd.stdin.end();
await new Promise((r) => zstd.once('close', r));
const compressed = (await import('node:fs')).statSync(path).size;
console.log(
  `generated ${(written / 1e9).toFixed(2)} GB JSONL → ${(compressed / 1e6).toFixed(0)} MB zstd in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
t0 = performance.now();
const read = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'read', path], { encoding: 'utf8' });
rmSync(path, { force: true });
if (read.status !== 0) throw new Error(read.stderr);
const result = JSON.parse(read.stdout) as { docs: number; seconds: number; maxRssMB: number };
console.log(
  `read ${result.docs} documents in ${result.seconds.toFixed(1)} s: ${(written / 1e6 / result.seconds).toFixed(1)} MB/s of JSONL, ` +
    `peak RSS ${result.maxRssMB.toFixed(0)} MB`,
);
