// CPU milliseconds per engine decode step at several batch sizes (what the server pays per token boundary), random
// weights, llama2.c's TinyStories shapes. CPU time (user + system of this process) rather than wall time, so the
// figure holds on a machine shared with other work; the ratio batch-16 / batch-1 is the engine's cap on the server's
// 16-vs-1 clients throughput ratio on one thread. Wall milliseconds too: with CPU helper threads (ANDES_CPU_THREADS)
// a step's CPU time counts every thread, and wall time is what the clients wait (on WebGPU, lavapipe's threads run
// while the process waits).
//
//   ANDES_BACKEND=cpu node bench/decode-step-bench.mjs      # after npm run build
//
// Environment: STEP_PRESETS (default stories-15m) or STEP_MODEL (a model file; STEP_DTYPE, default keep),
// STEP_BATCHES (default 1,4,16), STEP_COUNT (decode steps per pass, default 24), STEP_PROMPT (prompt tokens per slot
// before the steps, default 4), STEP_TEMPERATURE (default 0).
// Two passes; the second is reported (the first compiles kernels and moves weights into wasm memory). STEP_THREADS=1,2
// instead compares CPU thread counts in one process (setCpuThreads), STEP_ROUNDS (default 5) rounds in alternating
// order after the warm pass, and reports each count's median round: on a machine shared with other work,
// back-to-back processes differ by more than the threads do.
import { cpus, loadavg } from 'node:os';
import { argmax, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend, setCpuThreads } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';
import { buildModel } from '../dist/model-build.js';

const PRESETS = (process.env.STEP_PRESETS ?? 'stories-15m').split(',');
const BATCHES = (process.env.STEP_BATCHES ?? '1,4,16').split(',').map(Number);
const STEPS = Number(process.env.STEP_COUNT ?? 24);
const PROMPT = Number(process.env.STEP_PROMPT ?? 4);
const THREADS = process.env.STEP_THREADS?.split(',').map(Number);
const ROUNDS = Number(process.env.STEP_ROUNDS ?? 5);
const TEMPERATURE = Number(process.env.STEP_TEMPERATURE ?? 0);
// A model file instead of the presets' random weights (STEP_MODEL=stories15M.q8_0.gguf), held as STEP_DTYPE says
// (default keep: a GGUF's blocks stay in their types, as andes-serve holds them; f32 dequantizes).
const MODEL = process.env.STEP_MODEL;
const STEP_DTYPE = process.env.STEP_DTYPE ?? 'keep';
// Greedy by default; STEP_TEMPERATURE=0.8 draws as the serve bench's clients ask (a fixed uniform per row).
const SAMPLE = { temperature: TEMPERATURE, topK: 0, topP: 1, uniform: TEMPERATURE > 0 ? 0.5 : 0 };

await initBackend();
console.log(
  `# engine decode step, backend ${getBackend().name}, ${STEPS} steps after a ${PROMPT}-token prompt, ` +
    `temperature ${TEMPERATURE}, ANDES_CPU_THREADS=${process.env.ANDES_CPU_THREADS ?? '(default)'}`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`,
);

/**
 * CPU milliseconds per decode step of `batch` sequences decoding greedily in lockstep (one paged engine step each,
 * the tokens drawn on the device as the server does).
 */
async function stepMs(engine, batch) {
  const tokens = [];
  for (let s = 0; s < batch; s++) {
    const prompt = Array.from({ length: PROMPT }, (_, i) => 1 + ((s * 7919 + i * 104729) % (engine.vocabSize - 1)));
    const [first] = await engine.step([{ seq: s, ids: prompt, start: 0 }]);
    tokens.push(argmax(first.logits));
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let step = 0; step < STEPS; step++) {
    const chunks = tokens.map((token, seq) => ({ seq, ids: [token], start: PROMPT + step, sample: SAMPLE }));
    const out = await engine.step(chunks);
    for (let s = 0; s < batch; s++) tokens[s] = out[s].token.id;
  }
  const wall = (performance.now() - t0) / STEPS;
  const u = process.cpuUsage(c0);
  for (let s = 0; s < batch; s++) engine.release(s);
  return { cpu: (u.user + u.system) / 1000 / STEPS, wall };
}

for (const preset of MODEL ? [MODEL] : PRESETS) {
  const model = MODEL
    ? await buildModel(MODEL, { dtype: STEP_DTYPE })
    : new LlamaForCausalLM(llamaPreset(preset, { vocab_size: 32000 }), { seed: 1 });
  const engine = new LlamaEngine(model, { maxSlots: Math.max(...BATCHES), maxContext: 256 });
  if (THREADS) {
    await compareThreads(preset, engine);
    engine.dispose();
    model.dispose();
    continue;
  }
  const ms = new Map();
  for (let pass = 0; pass < 2; pass++) for (const b of BATCHES) ms.set(b, await stepMs(engine, b));
  const one = ms.get(BATCHES[0]);
  for (const b of BATCHES) {
    const { cpu, wall } = ms.get(b);
    console.log(
      `${preset} batch ${b}: ${cpu.toFixed(1)} CPU-ms per step (${(cpu / one.cpu).toFixed(2)}× batch ${BATCHES[0]}), ` +
        `${wall.toFixed(1)} wall-ms (${(wall / one.wall).toFixed(2)}×)`,
    );
  }
  engine.dispose();
  model.dispose();
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);

/** STEP_THREADS: every thread count and batch, rounds in alternating order; median wall and CPU ms per step. */
async function compareThreads(preset, engine) {
  for (const b of BATCHES) await stepMs(engine, b); // warm: kernels compiled, weights in wasm memory
  const rounds = new Map(THREADS.flatMap((t) => BATCHES.map((b) => [`${t}/${b}`, []])));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 ? [...THREADS].reverse() : THREADS) {
      setCpuThreads(t);
      for (const b of BATCHES) rounds.get(`${t}/${b}`).push(await stepMs(engine, b));
    }
  }
  setCpuThreads(undefined);
  const median = (xs) => xs.sort((p, q) => p - q)[xs.length >> 1];
  for (const b of BATCHES) {
    const cells = THREADS.map((t) => {
      const r = rounds.get(`${t}/${b}`);
      const wall = median(r.map((x) => x.wall));
      const first = median(rounds.get(`${THREADS[0]}/${b}`).map((x) => x.wall));
      return `${t} threads ${wall.toFixed(1)} wall-ms (${(first / wall).toFixed(2)}×), ${median(r.map((x) => x.cpu)).toFixed(1)} CPU-ms`;
    });
    console.log(`${preset} batch ${b}: ${cells.join('; ')}`);
  }
  for (const t of THREADS) {
    const wall = (b) => median(rounds.get(`${t}/${b}`).map((x) => x.wall));
    const last = BATCHES[BATCHES.length - 1];
    console.log(
      `${preset} ${t} threads: batch ${last} / batch ${BATCHES[0]} wall ${(wall(last) / wall(BATCHES[0])).toFixed(2)}×`,
    );
  }
}
