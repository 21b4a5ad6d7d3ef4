// CPU-microseconds per call of the small ops of one decode row (stories-15m widths: d = 288, 6 heads of 48), each in
// its own tidy scope under noGrad, as a decode step runs them: what a step pays per op besides its matmuls. Run after
// `npm run build`; OP_ROOT=<another checkout's packages/tensor> measures another build (e.g. a base commit) with the
// same script, OP_ONLY=add,rope picks ops, and OP_ROWS=16 runs them on 16 rows (a batched decode step's shapes, with the
// LM head [16, 288] · [32000, 288]ᵀ and a grouped q/k/v product).
//
//   ANDES_BACKEND=cpu node bench/op-overhead.mjs
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const root = process.env.OP_ROOT ?? resolve(import.meta.dirname, '..');
const T = await import(`${root}/dist/index.js`);
await T.initBackend();
const only = process.env.OP_ONLY?.split(',');
const CALLS = Number(process.env.OP_CALLS ?? 20000);
const d = 288;
const rows = Number(process.env.OP_ROWS ?? 1);
const x = T.keep(T.randn([1, rows, d], { seed: 1 }));
const y = T.keep(T.randn([1, rows, d], { seed: 2 }));
const w = T.keep(T.randn([d], { seed: 3 }));
const W = T.keep(T.randn([d, d], { seed: 4 }));
const q = T.keep(T.randn([1, rows, 6, 48], { seed: 5 }));
const pos = T.keep(
  T.tensor(
    Int32Array.from({ length: rows }, (_, i) => 7 + i),
    [rows],
    { dtype: 'int32' },
  ),
);
const g = T.keep(T.randn([1, rows, 768], { seed: 6 }));
const u = T.keep(T.randn([1, rows, 768], { seed: 7 }));
const head = rows > 1 ? T.keep(T.randn([32000, d], { seed: 8 })) : null;
const qkv = [9, 10, 11].map((seed) => T.keep(T.randn([d, d], { seed })));
const ops = {
  add: () => x.add(y),
  reshape: () => x.reshape([rows, d]),
  rmsNorm: () => T.rmsNorm(x, w, 1e-5),
  addRmsNorm: () => T.addRmsNorm(x, y, w, 1e-5).y,
  'linear 288×288': () => T.linear(x, W),
  rope: () => T.rope(q, pos, { theta: 10000 }),
  swiglu: () => (rows > 1 ? T.swiglu(g, u) : T.swiglu(x, y)),
  ...(rows > 1 && T.linearMany
    ? { 'linearMany q/k/v': () => T.linearMany(x, qkv), 'linear LM head': () => T.linear(x, head) }
    : {}),
};
console.log(
  `# op overhead, ${root}, backend ${T.getBackend().name}, ${rows} row(s), ${CALLS} calls, load ${loadavg()[0].toFixed(1)}`,
);
for (const [name, op] of Object.entries(ops)) {
  if (only && !only.includes(name)) continue;
  let perCall = 0;
  // The LM head takes ~10 ms a call on one core: 1/400 of the calls.
  const calls = name === 'linear LM head' ? Math.ceil(CALLS / 400) : CALLS;
  // The second round is reported (the first compiles and moves W into wasm memory).
  for (let round = 0; round < 2; round++) {
    const c0 = process.cpuUsage();
    T.noGrad(() => {
      for (let i = 0; i < calls; i++) T.tidy(() => void op());
    });
    const u = process.cpuUsage(c0);
    perCall = (u.user + u.system) / calls;
  }
  console.log(`${name.padEnd(16)} ${perCall.toFixed(2)} CPU-µs per call`);
}
