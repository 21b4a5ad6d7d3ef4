// Two builds of Andes decoding side by side in one process, one engine step each in turn, so that both see the same
// load: the way to compare a change with its base on a shared machine, where separate runs minutes apart differ by
// more than most changes. Each side is a checkout (or copy) with its packages built; both decode greedily from the
// same random weights (llama2.c's TinyStories shapes), `PAIRED_BATCH` sequences in lockstep, and must pick the same
// tokens. Reports tokens (or steps) per CPU-second of each side and their ratio, per pass.
//
//   PAIRED_BASE=/tmp/base PAIRED_NEW=$PWD/../.. ANDES_BACKEND=cpu node bench/decode-paired-bench.mjs
//
// Environment: PAIRED_BASE (required: the base checkout's root), PAIRED_NEW (default: this checkout), PAIRED_PRESET
// (default stories-15m), PAIRED_BATCH (default 1), PAIRED_STEPS (default 128), PAIRED_PASSES (default 3; the first
// includes warm-up: moving weights into wasm memory, compiling).
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const roots = {
  base: process.env.PAIRED_BASE,
  new: process.env.PAIRED_NEW ?? resolve(import.meta.dirname, '../../..'),
};
if (!roots.base) throw new Error('decode-paired-bench: set PAIRED_BASE to the root of the base checkout (built)');
const PRESET = process.env.PAIRED_PRESET ?? 'stories-15m';
const BATCH = Number(process.env.PAIRED_BATCH ?? 1);
const STEPS = Number(process.env.PAIRED_STEPS ?? 128);
const PASSES = Number(process.env.PAIRED_PASSES ?? 3);
const PROMPT = [1, 403, 2501, 263];
const GREEDY = { temperature: 0, topK: 0, topP: 1, uniform: 0 };

const sides = {};
for (const [name, root] of Object.entries(roots)) {
  const nn = await import(`${root}/packages/nn/dist/index.js`);
  const tensor = await import(`${root}/packages/tensor/dist/index.js`);
  const { LlamaEngine } = await import(`${root}/apps/serve/dist/index.js`);
  await tensor.initBackend();
  const model = new nn.LlamaForCausalLM(nn.llamaPreset(PRESET, { vocab_size: 32000 }), { seed: 1 });
  const engine = new LlamaEngine(model, { maxSlots: BATCH, maxContext: PROMPT.length + STEPS + 1 });
  sides[name] = { nn, engine, backend: tensor.getBackend().name, cpu: 0 };
}
console.log(
  `# ${PRESET}, batch ${BATCH}, ${STEPS} steps per pass, base ${roots.base} vs new ${roots.new}, backends ` +
    `${sides.base.backend} / ${sides.new.backend}, load ${loadavg()[0].toFixed(1)}`,
);
/** Prompts differ per sequence so the rows of a batch attend different keys. */
const prompt = (s) => PROMPT.map((id, i) => (i === 0 ? id : 1 + ((id + 7919 * s) % 31999)));

for (let pass = 0; pass < PASSES; pass++) {
  const state = {};
  for (const [name, side] of Object.entries(sides)) {
    side.cpu = 0;
    const tokens = [];
    for (let s = 0; s < BATCH; s++) {
      const [first] = await side.engine.step([{ seq: s, ids: prompt(s), start: 0 }]);
      tokens.push(side.nn.argmax(first.logits));
    }
    state[name] = { tokens, history: [] };
  }
  for (let i = 0; i < STEPS; i++) {
    // Alternate which side goes first, so neither always runs right after the other's garbage.
    for (const name of i % 2 ? ['new', 'base'] : ['base', 'new']) {
      const side = sides[name];
      const st = state[name];
      const chunks = st.tokens.map((id, seq) => ({ seq, ids: [id], start: PROMPT.length + i, sample: GREEDY }));
      const c0 = process.cpuUsage();
      const out = await side.engine.step(chunks);
      const u = process.cpuUsage(c0);
      side.cpu += (u.user + u.system) / 1e6;
      st.tokens = out.map((r) => r.token.id);
      st.history.push(...st.tokens);
    }
  }
  const agree = state.base.history.every((t, i) => t === state.new.history[i]);
  const rate = (side) => (STEPS * BATCH) / side.cpu;
  const [b, n] = [rate(sides.base), rate(sides.new)];
  console.log(
    `pass ${pass}: base ${b.toFixed(1)} tokens/CPU-s (${((1000 * sides.base.cpu) / STEPS).toFixed(2)} CPU-ms/step), ` +
      `new ${n.toFixed(1)} (${((1000 * sides.new.cpu) / STEPS).toFixed(2)} CPU-ms/step), new/base ${(n / b).toFixed(3)}; ` +
      `same tokens: ${agree}; load ${loadavg()[0].toFixed(1)}`,
  );
  for (const side of Object.values(sides)) for (let s = 0; s < BATCH; s++) side.engine.release(s);
}
