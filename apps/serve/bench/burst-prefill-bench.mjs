// The compute floor of the `lockstep` workload's time to first token: 16 clients send ~12-token prompts within a
// millisecond, so the last of their first tokens cannot come before every prompt row of the burst is computed. Times
// one engine step that prefills all 16 prompts (each drawing its first token on the device, as the server does)
// against one step that prefills one of them (what a lone client waits for), and one 16-row decode step beside
// them, on the backend the environment picks (ANDES_BACKEND). Random weights, stories-15m shape, the serve bench's
// tokenizer and prompts (`Story ${w}-${r}: Once upon a time`).
//
//   ANDES_BACKEND=cpu node bench/burst-prefill-bench.mjs      # after npm run build
//
// Environment: BURST_CLIENTS (default 16), BURST_REPS (timed repetitions, default 9; the median is reported, after
// two untimed warm-up repetitions).
import { cpus, loadavg } from 'node:os';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const CLIENTS = Number(process.env.BURST_CLIENTS ?? 16);
const REPS = Number(process.env.BURST_REPS ?? 9);

await initBackend();
const tokenizer = await benchTokenizer();
const config = llamaPreset('stories-15m', { vocab_size: tokenizer.vocabSize });
const engine = new LlamaEngine(new LlamaForCausalLM(config, { seed: 1 }), { maxSlots: CLIENTS, maxContext: 256 });
const prompts = Array.from({ length: CLIENTS }, (_, w) =>
  tokenizer.encode(`Story ${w}-0: Once upon a time`, { bos: true }),
);
const sample = (w) => ({ temperature: 0.8, topK: 0, topP: 1, uniform: (w + 0.5) / CLIENTS });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall ms of one step of `chunks`, then (for the decode measurement) a decode step of every sequence. */
async function timed(chunks) {
  const t0 = performance.now();
  const out = await engine.step(chunks);
  return { ms: performance.now() - t0, out };
}

const burst = [];
const single = [];
const decode = [];
for (let rep = 0; rep < REPS + 2; rep++) {
  const one = await timed([{ seq: 0, ids: prompts[0], start: 0, sample: sample(0) }]);
  engine.release(0);
  const all = await timed(prompts.map((ids, w) => ({ seq: w, ids, start: 0, sample: sample(w) })));
  const next = await timed(
    prompts.map((ids, w) => ({ seq: w, ids: [all.out[w].token.id], start: ids.length, sample: sample(w) })),
  );
  for (let w = 0; w < CLIENTS; w++) engine.release(w);
  if (rep < 2) continue;
  single.push(one.ms);
  burst.push(all.ms);
  decode.push(next.ms);
}
const rows = prompts.reduce((n, p) => n + p.length, 0);
console.log(
  `# burst prefill, backend ${getBackend().name}, ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`,
);
console.log(
  `one prompt (${prompts[0].length} rows): ${median(single).toFixed(1)} ms; ${CLIENTS} prompts (${rows} rows) in one step: ` +
    `${median(burst).toFixed(1)} ms (${(median(burst) / median(single)).toFixed(2)}×); ${CLIENTS}-row decode step: ` +
    `${median(decode).toFixed(1)} ms (medians of ${REPS})`,
);
engine.dispose();
process.exit(0);
