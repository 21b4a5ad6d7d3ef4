// CPU-microseconds per call of the small ops of one decode row (stories-15m widths: d = 288, 6 heads of 48), each in
// its own tidy scope under noGrad, as a decode step runs them: what a step pays per op besides its matmuls. Run after
// `npm run build`; OP_ROOT=<another checkout's packages/tensor> measures another build (e.g. a base commit) with the
// same script, and OP_ONLY=add,rope picks ops.
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
const x = T.keep(T.randn([1, 1, d], { seed: 1 }));
const y = T.keep(T.randn([1, 1, d], { seed: 2 }));
const w = T.keep(T.randn([d], { seed: 3 }));
const W = T.keep(T.randn([d, d], { seed: 4 }));
const q = T.keep(T.randn([1, 1, 6, 48], { seed: 5 }));
const pos = T.keep(T.tensor(Int32Array.from([7]), [1], { dtype: 'int32' }));
const ops = {
  add: () => x.add(y),
  reshape: () => x.reshape([1, d]),
  rmsNorm: () => T.rmsNorm(x, w, 1e-5),
  addRmsNorm: () => T.addRmsNorm(x, y, w, 1e-5).y,
  'linear 288×288': () => T.linear(x, W),
  rope: () => T.rope(q, pos, { theta: 10000 }),
  swiglu: () => T.swiglu(x, y),
};
console.log(`# op overhead, ${root}, backend ${T.getBackend().name}, ${CALLS} calls, load ${loadavg()[0].toFixed(1)}`);
for (const [name, op] of Object.entries(ops)) {
  if (only && !only.includes(name)) continue;
  let perCall = 0;
  // The second round is reported (the first compiles and moves W into wasm memory).
  for (let round = 0; round < 2; round++) {
    const c0 = process.cpuUsage();
    T.noGrad(() => {
      for (let i = 0; i < CALLS; i++) T.tidy(() => void op());
    });
    const u = process.cpuUsage(c0);
    perCall = (u.user + u.system) / CALLS;
  }
  console.log(`${name.padEnd(16)} ${perCall.toFixed(2)} CPU-µs per call`);
}
