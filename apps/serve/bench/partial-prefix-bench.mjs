// What partial-block prefix reuse saves a `realistic` request's prefill step, and what its copy costs. One engine
// step prefilling a realistic prompt (the serve bench's system prompt and `Story w-r` line, drawing its first token
// on the device as the server does) after the prefix cache has seen another request: `partial` reuses the cached
// full blocks and copies the start of the next one (the default), `whole` reuses the full blocks only
// (`--no-partial-prefix`); the two alternate, each on fresh prompts. Also times `PagedKvCache.copyPositions` alone
// (one copy of the shared 11 positions, every layer's keys and values) with a device sync, against the sync alone.
// Random weights, stories-15m shape, on the backend the environment picks (ANDES_BACKEND).
//
//   ANDES_BACKEND=cpu node bench/partial-prefix-bench.mjs      # after npm run build
//
// Environment: PFX_REPS (timed pairs, default 9; medians reported, after two untimed warm-up pairs).
import { cpus, loadavg } from 'node:os';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend, sync } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';
import { workload } from './bench-workload.mjs';

const REPS = Number(process.env.PFX_REPS ?? 9);

await initBackend();
const tokenizer = await benchTokenizer();
const config = llamaPreset('stories-15m', { vocab_size: tokenizer.vocabSize });
const engine = new LlamaEngine(new LlamaForCausalLM(config, { seed: 1 }), { maxSlots: 4, maxContext: 256 });
const pool = engine.cache.pool;
const realistic = workload('realistic', 16);
const promptOf = (w, r) => tokenizer.encode(realistic.request(w, r).prompt, { bos: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sample = { temperature: 0.8, topK: 0, topP: 1, uniform: 0.5 };

let seq = 0;
/** One prefill step of `prompt` after reusing what `mode` allows; wall ms and rows computed. */
async function prefill(prompt, mode) {
  const id = seq++;
  const found = pool.lookupPrefix(prompt, prompt.length - 1).tokens;
  const reused = pool.open(id, prompt, mode === 'partial' ? found : found - (found % pool.blockSize));
  pool.grow(id, prompt.length + 1);
  const t = performance.now();
  await engine.step([{ seq: id, ids: prompt.slice(reused), start: reused, sample }]);
  const ms = performance.now() - t;
  engine.release(id);
  return { ms, rows: prompt.length - reused };
}

await prefill(promptOf(0, 0), 'whole'); // the prefix cache holds one realistic request from here on
const times = { partial: [], whole: [], copy: [], sync: [] };
const rows = { partial: new Set(), whole: new Set() };
for (let r = 0; r < REPS + 2; r++) {
  for (const mode of r % 2 ? ['whole', 'partial'] : ['partial', 'whole']) {
    const got = await prefill(promptOf(mode === 'partial' ? 1 : 2, r), mode);
    rows[mode].add(got.rows);
    if (r >= 2) times[mode].push(got.ms);
  }
  let t = performance.now();
  await sync();
  if (r >= 2) times.sync.push(performance.now() - t);
  const [, , third] = pool.lookupPrefix(promptOf(0, 0)).blocks;
  t = performance.now();
  engine.cache.copyPositions([{ seq: -1, source: third ?? 2, destination: pool.numBlocks - 1, positions: 11 }]);
  await sync();
  if (r >= 2) times.copy.push(performance.now() - t);
}
const f = (x) => x.toFixed(2);
console.log(
  `# partial-prefix bench — stories-15m (random weights), backend ${getBackend().name}; ${cpus().length} × ` +
    `${cpus()[0]?.model.trim()}, node ${process.version}, load ${loadavg()[0].toFixed(2)}; medians of ${REPS}`,
);
console.log(`prefill step, partial (rows ${[...rows.partial].join('/')}): ${f(median(times.partial))} ms`);
console.log(`prefill step, whole blocks (rows ${[...rows.whole].join('/')}): ${f(median(times.whole))} ms`);
console.log(
  `copyPositions of 11 positions + sync: ${f(median(times.copy))} ms (sync alone ${f(median(times.sync))} ms)`,
);
engine.dispose();
process.exit(0);
