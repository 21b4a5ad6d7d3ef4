// The CPU paged-attention SIMD kernels alone (src/cpu/wasm-attention.ts: `scores` then `values`) for one decode row:
// HEADS query heads over KV_HEADS kv heads of D, against KEYS cached positions whose pool rows (all kv heads of a
// position, as the paged pools store them) come from DRAM: copies of the pools rotate through 96 MB, as a decode step
// finds them after streaming its weights. CPU-µs per row (both kernels, the softmax left out). With
// BASE=<older packages/tensor/dist> the base build's kernels run beside over the same memory (its module imports it),
// rounds alternating; a base whose kernels take 6 arguments is the per-head form (called once per head).
//
//   node packages/tensor/bench/paged-attention-kernels.mjs                 # after npm run build
//   BASE=/tmp/base/packages/tensor/dist KEYS=128 node packages/tensor/bench/paged-attention-kernels.mjs
import { loadavg } from 'node:os';
import { attentionModuleBytes } from '../dist/cpu/wasm-attention.js';

const HEADS = Number(process.env.HEADS ?? 6);
const KV_HEADS = Number(process.env.KV_HEADS ?? 6);
const D = Number(process.env.D ?? 48);
const ROUNDS = 7;
const CALLS = 400;
const POOL_BYTES = 96 << 20;
const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
mem.grow((POOL_BYTES + (4 << 20)) / 65536);
const instance = (bytes) => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports;
const builds = [{ name: 'this build', e: instance(attentionModuleBytes()) }];
if (process.env.BASE) {
  const base = await import(`${process.env.BASE}/cpu/wasm-attention.js`);
  builds.push({ name: 'base', e: instance(base.attentionModuleBytes()) });
}
const group = HEADS / KV_HEADS;
const dB = 4 * D;
const rowBytes = KV_HEADS * dB;
// Bytes: rows (i32) at 0, q at 64 KB, weights at 128 KB ([HEADS, 4096] f32), outputs at 1 MB + 64 KB per build,
// pools from 4 MB.
const [ROWS, Q, W, OUT, POOL] = [0, 65536, 131072, 1 << 20, 4 << 20];
const f = new Float32Array(mem.buffer);
let s = 7;
for (let i = Q / 4; i < POOL / 4 + POOL_BYTES / 4; i++) {
  if (i === OUT / 4) i = POOL / 4;
  s = (Math.imul(s, 1664525) + 1013904223) | 0;
  f[i] = (s >>> 8) / 2 ** 24;
}
/** Both kernels for one row, all heads, pools at `pool`; per-head kernels (6 arguments) once per head. */
function row(e, keys, pool, out) {
  if (e.scores.length === 9) {
    e.scores(Q, ROWS, keys, dB, W, pool, KV_HEADS, group, 4 * 4096);
    e.values(W, ROWS, keys, dB, out, pool, KV_HEADS, group, 4 * 4096);
    return;
  }
  for (let h = 0; h < HEADS; h++) {
    const head = Math.floor(h / group) * dB;
    e.scores(Q + h * dB, ROWS, keys, dB, W + h * 4 * 4096, pool + head);
    e.values(W + h * 4 * 4096, ROWS, keys, dB, out + h * dB, pool + head);
  }
}
console.log(
  `# paged-attention kernels: ${HEADS} heads over ${KV_HEADS} of ${D}, pools from DRAM, CPU-µs per row, load ${loadavg()[0].toFixed(2)}`,
);
for (const keys of (process.env.KEYS ?? '32,128,256').split(',').map(Number)) {
  const rows = new Int32Array(mem.buffer, ROWS, keys);
  for (let p = 0; p < keys; p++) rows[p] = ((p % 16) + 16 * ((p >> 4) * 3 + 1)) * rowBytes; // blocks of 16, apart
  const span = 16 * (3 * (keys >> 4) + 5) * rowBytes;
  const copies = Math.floor(POOL_BYTES / span);
  const times = builds.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    builds.forEach(({ e }, b) => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) row(e, keys, POOL + (i % copies) * span, OUT + b * 65536);
      const u = process.cpuUsage(c0);
      times[b].push((u.user + u.system) / CALLS);
    });
  }
  const same = builds.every((_, b) =>
    f.subarray((OUT + b * 65536) / 4, (OUT + b * 65536) / 4 + HEADS * D).every((x, i) => x === f[OUT / 4 + i]),
  );
  const cells = builds.map(({ name }, b) => `${name} ${times[b].sort((x, y) => x - y)[ROUNDS >> 1].toFixed(2)}`);
  console.log(`${keys} keys: ${cells.join(' / ')} µs${same ? '' : ' MISMATCH'}`);
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
