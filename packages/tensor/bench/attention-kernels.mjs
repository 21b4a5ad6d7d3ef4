// Benchmark: each fused attention kernel alone (forward, delta, dq, dk/dv), causal [1, 8, T, D], wall and CPU
// milliseconds per call (lavapipe runs in this process, so process CPU time is the kernel's CPU cost: steadier than wall
// time on a shared machine). A backward call records only the dispatches whose pipeline label starts with the label
// (the others are dropped, so their outputs are garbage: timing only). Needs `npx tsc -p bench/tsconfig.json` first.
// usage: node packages/tensor/bench/attention-kernels.mjs [T=256] [D=64]   (ROUNDS=2 REPS=4 ATTN_VARIANT=direct)
const out = new URL('./out/', import.meta.url).href;
const T = Number(process.argv[2] ?? 256);
const D = Number(process.argv[3] ?? 64);
const H = 8;
const { setup } = await import(`${out}bench/harness.js`);
const { setAttentionVariant } = await import(`${out}src/webgpu/kernels/attention.js`);
const { ATTENTION_VARIANTS } = await import(`${out}src/webgpu/tuning/families.js`);
if (process.env.ATTN_VARIANT) setAttentionVariant(ATTENTION_VARIANTS[process.env.ATTN_VARIANT]);
const bench = await setup();
const b = bench.andes;
const rt = b.rt;
let only = null;
const dispatch = rt.dispatch.bind(rt);
rt.dispatch = (p, s, params, g) => {
  if (!only || p.label.startsWith(only)) dispatch(p, s, params, g);
};
const view = (storage, shape) => ({
  storage,
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, c) => a * c, 1)),
  offset: 0,
});
const n = H * T * D;
const [q, k, v, dO] = [1, 2, 3, 4].map((seed) => view(b.random('normal', n, seed, 0), [1, H, T, D]));
const scale = 1 / Math.sqrt(D);
const f = b.attention(q, k, v, scale, true);
const forward = () => {
  const r = b.attention(q, k, v, scale, true);
  b.free(r.o);
  b.free(r.lse);
};
const backward = () => {
  const g = b.attentionBackward(q, k, v, view(f.o, [1, H, T, D]), dO, view(f.lse, [1, H, T]), scale, true);
  for (const s of [g.dq, g.dk, g.dv]) b.free(s);
};
const rows = {};
for (let round = 0; round < Number(process.env.ROUNDS ?? 2); round++) {
  for (const label of ['attn:fwd', 'attn:delta', 'attn:dq', 'attn:dkv']) {
    only = label === 'attn:fwd' ? null : label;
    const run = label === 'attn:fwd' ? forward : backward;
    run();
    await b.sync();
    const reps = Number(process.env.REPS ?? 4);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await b.sync();
    const c = process.cpuUsage(c0);
    const wall = (performance.now() - t0) / reps;
    const cpu = (c.user + c.system) / 1000 / reps;
    rows[label] ??= [];
    rows[label].push(`${wall.toFixed(0)} wall / ${cpu.toFixed(0)} CPU`);
  }
}
const { loadavg } = await import('node:os');
console.log(`causal [1, ${H}, ${T}, ${D}], load ${loadavg()[0].toFixed(1)}, ms per call:`);
for (const [label, cells] of Object.entries(rows)) console.log(`${label}: ${cells.join('; ')}`);
b.destroy();
process.exit(0);
