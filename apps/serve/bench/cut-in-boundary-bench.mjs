// What taking cut-ins costs a step, and what it buys, on the engine alone: wall and CPU milliseconds per 16-row
// decode step of a plain engine and of one with cut-ins (LlamaEngine's `cutIns`: the step waits once, before its
// output projection); then the same steps with one new prompt posted at a random moment during each (its rows after
// the prefix cache: 20 by default, the realistic workload's), reporting the step's wall time and the prompt's
// first-token latency. With cut-ins the prompt is posted as one; on the plain engine it waits for the step's end and
// then goes into the next step beside the 16 decodes, as the scheduler would run it. Random weights, llama2.c's
// stories-15m shape (vocab 32000), every row drawn at temperature 0.8. Variants run in rotating order within each
// round; medians over rounds. (Commit 48a9fd3's version of this script compared boundaries after every layer.)
//
//   ANDES_BACKEND=webgpu node bench/cut-in-boundary-bench.mjs      # after npm run build
//
// Environment: STEP_ROWS (decodes per step, default 16), STEP_PROMPT (prompt tokens before the decodes, default 50),
// CUT_ROWS (cut-in prompt rows, default 20), STEP_COUNT (steps per variant and round, default 8), STEP_ROUNDS (default
// 5, after a warm one).
import { loadavg } from 'node:os';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';

const ROWS = Number(process.env.STEP_ROWS ?? 16);
const PROMPT = Number(process.env.STEP_PROMPT ?? 50);
const CUT_ROWS = Number(process.env.CUT_ROWS ?? 20);
const STEPS = Number(process.env.STEP_COUNT ?? 8);
const ROUNDS = Number(process.env.STEP_ROUNDS ?? 5);
const SAMPLE = { temperature: 0.8, topK: 0, topP: 1, uniform: 0.5 };

await initBackend();
console.log(
  `# cut-in boundary, backend ${getBackend().name}, ${ROWS} decodes per step after ${PROMPT}-token prompts, ` +
    `cut-ins of ${CUT_ROWS} rows, ${STEPS} steps × ${ROUNDS} rounds, load ${loadavg()[0].toFixed(2)}`,
);
const model = new LlamaForCausalLM(llamaPreset('stories-15m', { vocab_size: 32000 }), { seed: 1 });
const variants = [
  { name: 'plain', options: {} },
  { name: 'cut-ins', options: { cutIns: true } },
];
for (const v of variants) {
  v.engine = new LlamaEngine(model, { maxSlots: ROWS + 1, maxContext: 256, ...v.options });
  v.tokens = [];
  for (let s = 0; s < ROWS; s++) {
    const ids = Array.from({ length: PROMPT }, (_, i) => 1 + ((s * 7919 + i * 104729) % 31999));
    const [first] = await v.engine.step([{ seq: s, ids, start: 0, sample: SAMPLE }]);
    v.tokens.push(first.token.id);
  }
  v.pos = PROMPT;
  v.plainRounds = [];
  v.cutRounds = [];
}
const promptIds = Array.from({ length: CUT_ROWS }, (_, i) => 10 + ((i * 7919) % 31000));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** One step of the variant's decodes (and `extra` chunks); advances its sequences. */
async function decodeStep(v, extra = []) {
  const chunks = v.tokens.map((t, seq) => ({ seq, ids: [t], start: v.pos, sample: SAMPLE }));
  const out = await v.engine.step([...chunks, ...extra]);
  for (let s = 0; s < ROWS; s++) v.tokens[s] = out[s].token.id;
  v.pos++;
  return out;
}

/** Wall and CPU ms per step of `STEPS` steps without cut-ins. */
async function plainSteps(v) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await decodeStep(v);
  const u = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / STEPS, cpu: (u.user + u.system) / 1000 / STEPS };
}

/**
 * `STEPS` steps with a new prompt posted at a random moment in each (before `within` ms): median step wall ms and
 * median first-token latency of the prompt (posting → its token drawn).
 */
async function stepsWithArrivals(v, within) {
  const walls = [];
  const latencies = [];
  const seq = ROWS;
  for (let i = 0; i < STEPS; i++) {
    const delay = Math.random() * within;
    const t0 = performance.now();
    let posted = 0;
    let cut;
    const timer = setTimeout(() => {
      posted = performance.now();
      if (v.engine.cutIn) cut = v.engine.cutIn([{ seq, ids: promptIds, start: 0, sample: SAMPLE }]);
    }, delay);
    await decodeStep(v);
    const t1 = performance.now();
    clearTimeout(timer);
    walls.push(t1 - t0);
    if (!posted) continue; // the step ended first
    if (cut) await cut;
    else await decodeStep(v, [{ seq, ids: promptIds, start: 0, sample: SAMPLE }]);
    latencies.push(performance.now() - posted);
    v.engine.release(seq);
  }
  return { wall: median(walls), ttft: latencies.length ? median(latencies) : Number.NaN, n: latencies.length };
}

for (let round = 0; round <= ROUNDS; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  for (const v of order) {
    const r = await plainSteps(v);
    if (round > 0) v.plainRounds.push(r);
  }
}
const plainWall = median(variants[0].plainRounds.map((r) => r.wall));
for (let round = 0; round <= ROUNDS; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  for (const v of order) {
    const r = await stepsWithArrivals(v, plainWall * 0.9);
    if (round > 0) v.cutRounds.push(r);
  }
}
console.log(
  '| variant | step wall ms | step CPU ms | vs plain | with arrivals: step wall ms | first token ms (n) |\n' +
    '| ------- | -----------: | ----------: | -------: | --------------------------: | -----------------: |',
);
for (const v of variants) {
  const wall = median(v.plainRounds.map((r) => r.wall));
  const cpu = median(v.plainRounds.map((r) => r.cpu));
  const cutWall = median(v.cutRounds.map((r) => r.wall));
  const ttft = median(v.cutRounds.map((r) => r.ttft));
  const n = v.cutRounds.reduce((a, r) => a + r.n, 0);
  console.log(
    `| ${v.name} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} | ${(wall / plainWall).toFixed(3)}× | ${cutWall.toFixed(1)} | ` +
      `${ttft.toFixed(1)} (${n}) |`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
for (const v of variants) v.engine.dispose();
model.dispose();
