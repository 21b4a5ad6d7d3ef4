// The CPU paged-attention SIMD kernels alone (src/cpu/wasm-attention.ts: `scores`, `values`) for one query row of
// one head against `keys` cached rows in scattered order, CPU-µs per call; with BASE=<older packages/tensor/dist>
// that build's kernels run beside, over the same memory and rows (its module imports the same memory), rounds
// alternating, and outputs must be equal bit for bit.
//
//   node packages/tensor/bench/paged-attention-kernels.mjs                 # after npm run build
//   BASE=/tmp/base/packages/tensor/dist KEYS=128 HEADS=4,20,48,64 node packages/tensor/bench/paged-attention-kernels.mjs
import { loadavg } from 'node:os';
import { attentionModuleBytes } from '../dist/cpu/wasm-attention.js';

const KEYS = Number(process.env.KEYS ?? 128);
const HEADS = (process.env.HEADS ?? '4,20,36,48,64').split(',').map(Number);
const CALLS = 20000;
const ROUNDS = 5;
const mem = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
const instance = (bytes) => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports;
const builds = [{ name: 'this build', e: instance(attentionModuleBytes()) }];
if (process.env.BASE) {
  const base = await import(`${process.env.BASE}/cpu/wasm-attention.js`);
  builds.push({ name: 'base', e: instance(base.attentionModuleBytes()) });
}
// Byte layout: weights or q at 0, row offsets at 4096 (i32), the cache at 65536, outputs at 1 MB + 64 KB per build.
const f = new Float32Array(mem.buffer);
const rows = new Int32Array(mem.buffer, 4096, KEYS);
let s = 7;
const random = () => {
  s = (Math.imul(s, 1664525) + 1013904223) | 0;
  return (s >>> 8) / 2 ** 24 - 0.5;
};
console.log(
  `# paged-attention kernels, ${KEYS} keys, ${CALLS} calls × ${ROUNDS} rounds, load ${loadavg()[0].toFixed(2)}`,
);
for (const D of HEADS) {
  for (let p = 0; p < KEYS; p++) rows[p] = ((p * 37) % KEYS) * D * 4; // scattered, as blocks of a paged pool
  for (let i = 0; i < Math.max(KEYS, D); i++) f[i] = random();
  for (let i = 0; i < KEYS * D; i++) f[16384 + i] = random();
  const line = [];
  for (const kernel of ['scores', 'values']) {
    const out = (b) => 1 << (20 + b);
    const times = builds.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      builds.forEach(({ e }, b) => {
        const c0 = process.cpuUsage();
        for (let i = 0; i < CALLS; i++) e[kernel](0, 4096, KEYS, 4 * D, out(b), 65536);
        const u = process.cpuUsage(c0);
        times[b].push((u.user + u.system) / CALLS);
      });
    }
    const width = kernel === 'scores' ? KEYS : D;
    const same = builds.every((_, b) =>
      f.subarray(out(b) / 4, out(b) / 4 + width).every((x, i) => x === f[out(0) / 4 + i]),
    );
    const cells = builds.map(({ name }, b) => `${name} ${times[b].sort((x, y) => x - y)[ROUNDS >> 1].toFixed(3)}`);
    line.push(`${kernel} ${cells.join(' / ')} µs${same ? '' : ' MISMATCH'}`);
  }
  console.log(`D ${D}: ${line.join(' | ')}`);
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
