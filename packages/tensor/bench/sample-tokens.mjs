// Benchmark: the CPU `sampleTokens` kernel on rows × vocab logits (a serving step's batch), per sampling setting,
// this checkout's build against a base build side by side in one process, in interleaved rounds.
// usage: BASE=/tmp/base/dist node packages/tensor/bench/sample-tokens.mjs [rows=16] [vocab=32000] [rounds=7]
// BASE is the `dist` folder of a build of the base commit (e.g. `cp -r packages/tensor/dist /tmp/base/` before the
// change); without it only this build is timed. Reports CPU-µs per row (process.cpuUsage), median over rounds.
import { packSamplingRows } from '@andes/tensor';

const B = Number(process.argv[2] ?? 16);
const V = Number(process.argv[3] ?? 32000);
const rounds = Number(process.argv[4] ?? 7);
// Each build's kernel and its own CpuStorage class (the kernel checks `instanceof` against its module's).
async function load(dist) {
  const { sampleTokens } = await import(new URL('cpu/sample-tokens.js', dist).href);
  const { CpuStorage } = await import(new URL('cpu/storage.js', dist).href);
  return (rows, top) =>
    sampleTokens({ storage: new CpuStorage('float32', data), shape: [B, V], strides: [V, 1], offset: 0 }, rows, top);
}
const kernels = [['new', new URL('../dist/', import.meta.url)]];
if (process.env.BASE) kernels.unshift(['base', new URL(`file://${process.env.BASE.replace(/\/?$/, '/')}`)]);

// Logits shaped like a small LM's: a Gaussian bulk (σ 2.5) and a few tokens far above it.
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed + 0.5) / 2 ** 32;
};
const gauss = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
const data = new Float32Array(B * V);
for (let r = 0; r < B; r++) {
  for (let i = 0; i < V; i++) data[r * V + i] = 2.5 * gauss();
  for (let j = 0; j < 8; j++) data[r * V + Math.floor(rand() * V)] = 12 + 6 * rand();
}
for (const k of kernels) k[1] = await load(k[1]);

const counts = () => new Map(Array.from({ length: 64 }, () => [Math.floor(rand() * V), 1 + Math.floor(rand() * 3)]));
const settings = [
  ['temperature 0.8', { temperature: 0.8, topK: 0, topP: 1 }, -1],
  ['temp 0.8 + logprobs', { temperature: 0.8, topK: 0, topP: 1 }, 5],
  ['top-k 40', { temperature: 0.8, topK: 40, topP: 1 }, -1],
  ['top-p 0.9', { temperature: 0.8, topK: 0, topP: 0.9 }, -1],
  ['top-k 40 + top-p 0.9', { temperature: 0.8, topK: 40, topP: 0.9 }, -1],
  [
    'penalties',
    () => ({ temperature: 0.8, topK: 0, topP: 1, counts: counts(), presencePenalty: 0.5, frequencyPenalty: 0.3 }),
    -1,
  ],
  ['greedy', { temperature: 0, topK: 0, topP: 1 }, -1],
];
const rowsOf = (s) =>
  packSamplingRows(
    Array.from({ length: B }, () => ({ ...(typeof s === 'function' ? s() : s), uniform: rand() })),
    V,
  );
console.log(`CPU sampleTokens: ${B} rows × vocab ${V}, CPU-µs per row, median of ${rounds} interleaved rounds`);
const results = settings.map(() => kernels.map(() => []));
let mismatches = 0;
const warmup = 2; // rounds not timed: the JIT's background compiles would be billed to whichever kernel runs then
for (let round = 0; round < rounds + warmup; round++) {
  for (const [si, [, s, top]] of settings.entries()) {
    const rows = rowsOf(s);
    const picked = [];
    // Alternate which build goes first, so that neither always runs on a cache the other has warmed or evicted.
    const order = round % 2 ? [...kernels.keys()].reverse() : [...kernels.keys()];
    for (const ki of order) {
      const sample = kernels[ki][1];
      const t0 = process.cpuUsage();
      const out = sample(rows, top);
      const t = process.cpuUsage(t0);
      picked[ki] = Array.from(out.ids.data).join();
      if (round >= warmup) results[si][ki].push((t.user + t.system) / B);
    }
    if (picked.some((p) => p !== picked[0])) mismatches++;
  }
}
const median = (xs) => xs.sort((p, q) => p - q)[xs.length >> 1];
const table = settings.map(([name], si) => {
  const us = results[si].map(median);
  const row = { setting: name };
  for (const [ki, [k]] of kernels.entries()) row[`${k} µs/row`] = us[ki].toFixed(1);
  if (kernels.length === 2) row['base/new'] = (us[0] / us[1]).toFixed(2);
  return row;
});
console.table(table);
if (kernels.length === 2) console.log(`rounds where base and new picked different tokens: ${mismatches}`);
