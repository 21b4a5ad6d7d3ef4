// Wall and CPU milliseconds per engine step of the kinds a server's time to first token waits on: decode steps, mixed steps
// (running decodes plus a new request's prompt), prompt-only steps, and steps with a prompt chunk before the last
// (`skipLogits`), random weights, llama2.c's stories-15m shape (vocab 32000), every row drawn at temperature 0.8 as
// the serve bench's clients ask. STEP_PROFILE=1 also replays every dispatch of one step of each kind alone between
// timestamp queries (WebGPU) and prints GPU ms per kernel. The replay binds the step's buffers after the step, when
// the pool may have handed a freed one to other data: kernels whose work depends on small per-step inputs (the
// sampling kernel's row settings) can replay another path than they ran; time those with
// packages/tensor/bench/sample-tokens-webgpu.mjs.
//
//   ANDES_BACKEND=webgpu node bench/mixed-step-bench.mjs      # after npm run build
//
// Environment: STEP_KINDS (default "16+0,15+16,15+16s,0+16,0+20": decodes + prompt rows, `s` = a prompt chunk
// before the last), STEP_COUNT (timed steps per kind, default 8), STEP_ROUNDS (default 3: rounds over the kinds
// after a warm one; the median round is reported).
import { loadavg } from 'node:os';
import { LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';

const KINDS = (process.env.STEP_KINDS ?? '16+0,15+16,15+16s,0+16,0+20').split(',');
const STEPS = Number(process.env.STEP_COUNT ?? 8);
const ROUNDS = Number(process.env.STEP_ROUNDS ?? 3);
const PROFILE = process.env.STEP_PROFILE === '1';
const SAMPLE = { temperature: 0.8, topK: 0, topP: 1, uniform: 0.5 };

await initBackend();
const backend = getBackend();
console.log(`# engine steps, backend ${backend.name}, load ${loadavg()[0].toFixed(2)}`);
const maxDecodes = Math.max(...KINDS.map((k) => Number(k.split('+')[0])));
const engine = new LlamaEngine(new LlamaForCausalLM(llamaPreset('stories-15m', { vocab_size: 32000 }), { seed: 1 }), {
  maxSlots: maxDecodes + 1,
  maxContext: 256,
});
// Running sequences 0…maxDecodes-1 after an 8-token prompt each; the new request is sequence maxDecodes.
const tokens = [];
for (let s = 0; s < maxDecodes; s++) {
  const [first] = await engine.step([{ seq: s, ids: [1 + s, 2, 3, 4, 5, 6, 7, 8 + s], start: 0, sample: SAMPLE }]);
  tokens.push(first.token.id);
}
const pos = tokens.map(() => 8);

/** One step of `kind`; the new request's sequence is released after it. */
async function step(kind) {
  const [d, p] = kind.split('+');
  const decodes = Number(d);
  const prompt = Number.parseInt(p, 10);
  const chunks = tokens.slice(0, decodes).map((t, seq) => ({ seq, ids: [t], start: pos[seq], sample: SAMPLE }));
  const ids = Array.from({ length: prompt }, (_, i) => 10 + ((i * 7919) % 31000));
  if (prompt > 0) {
    chunks.push(
      p.endsWith('s')
        ? { seq: maxDecodes, ids, start: 0, skipLogits: true }
        : { seq: maxDecodes, ids, start: 0, sample: SAMPLE },
    );
  }
  const out = await engine.step(chunks);
  await backend.sync();
  for (let s = 0; s < decodes; s++) {
    tokens[s] = out[s].token.id;
    pos[s]++;
  }
  if (prompt > 0) engine.release(maxDecodes);
}

/** Wall and process CPU milliseconds per step of `kind` (lavapipe's threads are this process's: CPU time holds
 * better than wall time on a machine shared with other work). */
async function timeKind(kind) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    if (Math.max(...pos) >= 250) throw new Error('mixed-step-bench: context full; lower STEP_COUNT or STEP_ROUNDS');
    await step(kind);
  }
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / STEPS, cpu: (c.user + c.system) / 1000 / STEPS };
}

const times = new Map(KINDS.map((k) => [k, []]));
for (let round = 0; round <= ROUNDS; round++) {
  for (const kind of round % 2 ? [...KINDS].reverse() : KINDS) {
    const ms = await timeKind(kind);
    if (round > 0) times.get(kind).push(ms);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const kind of KINDS) {
  const t = times.get(kind);
  const wall = median(t.map((x) => x.wall));
  console.log(`step ${kind}: ${wall.toFixed(1)} wall-ms, ${median(t.map((x) => x.cpu)).toFixed(1)} CPU-ms`);
}
if (PROFILE) for (const kind of KINDS) await profile(kind);
console.log(`load after: ${loadavg()[0].toFixed(2)}`);

/** GPU ms per kernel of one step of `kind`: its dispatches recorded, then each replayed alone three times. */
async function profile(kind) {
  const rt = backend.rt;
  if (!rt) return;
  const dispatch = rt.dispatch.bind(rt);
  const recorded = [];
  rt.dispatch = (pipeline, storages, params, groups) => {
    // The buffers, not the storages: the pool recycles a freed storage's buffer, which stays valid to replay.
    recorded.push([pipeline, storages.map((s) => ({ buffer: s.buffer, freed: false })), Array.from(params), groups]);
    dispatch(pipeline, storages, params, groups);
  };
  try {
    await step(kind);
  } finally {
    rt.dispatch = dispatch;
  }
  const per = new Map();
  let total = 0;
  for (const [pipeline, storages, params, groups] of recorded) {
    const ms = [];
    for (let r = 0; r < 3; r++) ms.push(await rt.timeGpu(() => dispatch(pipeline, storages, params, groups)));
    const key = `${pipeline.label} ${JSON.stringify(groups)}`;
    const e = per.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += median(ms);
    total += median(ms);
    per.set(key, e);
  }
  console.log(`profile ${kind}: ${recorded.length} dispatches, ${total.toFixed(1)} GPU ms replayed`);
  for (const [key, e] of [...per].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8)) {
    console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ×${e.n} ${key}`);
  }
}
