// CPU milliseconds per engine decode step at several batch sizes (what the server pays per token boundary), random
// weights, llama2.c's TinyStories shapes. CPU time (user + system of this process) rather than wall time, so the
// figure holds on a machine shared with other work; the ratio batch-16 / batch-1 is the engine's cap on the server's
// 16-vs-1 clients throughput ratio.
//
//   ANDES_BACKEND=cpu node bench/decode-step-bench.mjs      # after npm run build
//
// Wall milliseconds per step are printed beside (on WebGPU, lavapipe's threads run while the process waits).
//
// Environment: STEP_PRESETS (default stories-15m), STEP_BATCHES (default 1,4,16), STEP_COUNT (decode steps per
// pass, default 24), STEP_PROMPT (prompt tokens per slot before the steps, default 4), STEP_TEMPERATURE (default 0).
// Two passes; the second is reported (the first compiles kernels and moves weights into wasm memory).
import { cpus, loadavg } from 'node:os';
import { argmax, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';

const PRESETS = (process.env.STEP_PRESETS ?? 'stories-15m').split(',');
const BATCHES = (process.env.STEP_BATCHES ?? '1,4,16').split(',').map(Number);
const STEPS = Number(process.env.STEP_COUNT ?? 24);
const PROMPT = Number(process.env.STEP_PROMPT ?? 4);
const TEMPERATURE = Number(process.env.STEP_TEMPERATURE ?? 0);
// Greedy by default; STEP_TEMPERATURE=0.8 draws as the serve bench's clients ask (a fixed uniform per row).
const SAMPLE = { temperature: TEMPERATURE, topK: 0, topP: 1, uniform: TEMPERATURE > 0 ? 0.5 : 0 };

await initBackend();
console.log(
  `# engine decode step, backend ${getBackend().name}, ${STEPS} steps after a ${PROMPT}-token prompt, temperature ${TEMPERATURE}`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`,
);

/**
 * CPU milliseconds per decode step of `batch` sequences decoding greedily in lockstep (one paged engine step each,
 * the tokens drawn on the device as the server does).
 */
async function stepCpuMs(engine, batch) {
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

for (const preset of PRESETS) {
  const config = llamaPreset(preset, { vocab_size: 32000 });
  const model = new LlamaForCausalLM(config, { seed: 1 });
  const engine = new LlamaEngine(model, { maxSlots: Math.max(...BATCHES), maxContext: 256 });
  const ms = new Map();
  for (let pass = 0; pass < 2; pass++) for (const b of BATCHES) ms.set(b, await stepCpuMs(engine, b));
  const one = ms.get(BATCHES[0]);
  for (const b of BATCHES) {
    const { cpu, wall } = ms.get(b);
    console.log(
      `${preset} batch ${b}: ${cpu.toFixed(1)} CPU-ms per step (${(cpu / one.cpu).toFixed(2)}× batch ${BATCHES[0]}), ` +
        `${wall.toFixed(1)} wall ms (${(wall / one.wall).toFixed(2)}×)`,
    );
  }
  engine.dispose();
  model.dispose();
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
