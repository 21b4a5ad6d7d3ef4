// The CPU backend's products on 1 vs more threads (src/cpu/cpu-threads.ts), one process, rounds interleaved (ABBA):
// x [M, K] · wᵀ through the backend's matmul with w a [N, K] weight living in wasm memory, rotating copies of w so
// that it streams from DRAM as a decode step's weights do. Wall ms per product (median round) and its ratio, and CPU
// ms of the whole process (all threads, median round) per product: the helpers' time counts.
//
//   node packages/tensor/bench/cpu-threads.mjs            # after npm run build; THREADS=2 by default
//   SHAPES='[[16,288,32000]]' THREADS=2 ROUNDS=9 REPS=6 node packages/tensor/bench/cpu-threads.mjs
import { cpus, loadavg } from 'node:os';
import { setCpuThreads, setSplitMinMultiplyAdds, startCpuHelpers } from '../dist/cpu/cpu-threads.js';
import { matmul } from '../dist/cpu/matmul.js';
import { CpuStorage } from '../dist/cpu/storage.js';

const SHAPES = JSON.parse(
  process.env.SHAPES ?? '[[1,288,32000],[16,288,32000],[16,768,288],[192,288,768],[1,768,2048],[16,768,2048]]',
);
const THREADS = Number(process.env.THREADS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const REPS = Number(process.env.REPS ?? 8);
const WEIGHT_FLOATS = 24e6; // rotating copies of w: well past the 16 MiB L3
// SPLIT_MIN=0 splits every product (to measure where a split starts to pay); unset: the backend's threshold.
if (process.env.SPLIT_MIN) setSplitMinMultiplyAdds(Number(process.env.SPLIT_MIN));

let seed = 12345;
const random = (n) =>
  Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
    return (seed >>> 8) / 2 ** 24 - 0.5;
  });

setCpuThreads(THREADS);
console.log(
  `# cpu threads 1 vs ${THREADS}: ${await startCpuHelpers()} helpers ready; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`,
);
console.log('| [M, K, N] | 1 thread ms | n threads ms | speed-up | CPU ms per product, 1 / n |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [M, K, N] of SHAPES) {
  const x = { storage: new CpuStorage('float32', random(M * K)), shape: [M, K], strides: [K, 1], offset: 0 };
  const copies = Math.max(1, Math.min(8, Math.floor(WEIGHT_FLOATS / (N * K))));
  const ws = Array.from({ length: copies }, () => new CpuStorage('float32', random(N * K)));
  const bs = ws.map((storage) => ({ storage, shape: [K, N], strides: [1, K], offset: 0 }));
  // Two uses move each weight into wasm memory; the outputs of 1 and n threads must be equal.
  for (const b of bs) matmul(x, b, []);
  const out = {};
  const wall = { 1: [], n: [] };
  const cpu = { 1: [], n: [] };
  const run = (key) => {
    setCpuThreads(key === 1 ? 1 : THREADS);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < REPS; r++) out[key] = matmul(x, bs[r % copies], []).data;
    wall[key].push((performance.now() - t0) / REPS);
    const c = process.cpuUsage(c0);
    cpu[key].push((c.user + c.system) / 1000 / REPS);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const key of round % 2 ? ['n', 1] : [1, 'n']) run(key);
  }
  const same = out[1].every((v, i) => Object.is(v, out.n[i]));
  const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  const [one, n] = [median(wall[1]), median(wall.n)];
  console.log(
    `| [${M}, ${K}, ${N}] | ${one.toFixed(3)} | ${n.toFixed(3)} | ${(one / n).toFixed(2)}×${same ? '' : ' MISMATCH'} | ${median(cpu[1]).toFixed(3)} / ${median(cpu.n).toFixed(3)} |`,
  );
}
console.log(`# load after ${loadavg()[0].toFixed(2)}`);
