// Engine steps with a float32, float16 and bfloat16 KV cache side by side (one process, rounds rotating over the
// three engines): wall ms per decode step of D sequences after PROMPT-token prompts, and each cache's bytes. Random
// weights on a preset's shape (default stories-15m), every row drawn at temperature 0.8 as the serve bench's clients
// ask. The half caches hold twice the positions in the same memory; this is what they cost per step.
//
//   ANDES_BACKEND=cpu node bench/kv-dtype-bench.mjs                 # after npm run build
//   ANDES_BACKEND=webgpu D=1 PROMPT=200 node bench/kv-dtype-bench.mjs
//
// Environment: PRESET, D (sequences, default 16), PROMPT (default 8), CTX (positions per sequence, default 256),
// N (timed steps per round, default 20), ROUNDS (default 6; the median round is reported).
import { loadavg } from 'node:os';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';

const SAMPLE = { temperature: 0.8, topK: 0, topP: 1, uniform: 0.5 };
await initBackend();
const backend = getBackend().name;
const model = new LlamaForCausalLM(llamaPreset(process.env.PRESET ?? 'stories-15m', { vocab_size: 32000 }), {
  seed: 1,
});
const CTX = Number(process.env.CTX ?? 256);
const D = Number(process.env.D ?? 16);
const engines = Object.fromEntries(
  ['float32', 'float16', 'bfloat16'].map((kvDtype) => [
    kvDtype,
    new LlamaEngine(model, { maxSlots: D, maxContext: CTX, kvDtype }),
  ]),
);
const state = {};
async function reset(name) {
  const e = engines[name];
  for (let s = 0; s < D; s++) e.release(s);
  const st = (state[name] = { tokens: [], pos: [] });
  const P = Number(process.env.PROMPT ?? 8);
  for (let s = 0; s < D; s++) {
    const [f] = await e.step([
      { seq: s, ids: Array.from({ length: P }, (_, i) => 1 + ((s * 31 + i * 7) % 30000)), start: 0, sample: SAMPLE },
    ]);
    st.tokens.push(f.token.id);
    st.pos.push(P);
  }
}
async function step(name) {
  const e = engines[name];
  const st = state[name];
  const out = await e.step(st.tokens.map((t, seq) => ({ seq, ids: [t], start: st.pos[seq], sample: SAMPLE })));
  for (let s = 0; s < D; s++) {
    st.tokens[s] = out[s].token.id;
    st.pos[s]++;
  }
}
const res = { float32: [], float16: [], bfloat16: [] };
const names = Object.keys(engines);
for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    await reset(name);
    for (let i = 0; i < 3; i++) await step(name);
    const t0 = performance.now();
    const N = Number(process.env.N ?? 20);
    for (let i = 0; i < N; i++) await step(name);
    res[name].push((performance.now() - t0) / N);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `${backend}, ${loadavg()[0].toFixed(2)} load: ${D} rows, prompt ${process.env.PROMPT ?? 8}: ` +
    names
      .map((n) => `${n} ${med(res[n]).toFixed(2)} ms (KV ${(engines[n].cache.bytes / 2 ** 20).toFixed(1)} MiB)`)
      .join(', '),
);
process.exit(0);
