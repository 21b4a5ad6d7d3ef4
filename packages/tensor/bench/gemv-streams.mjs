// One-row dot kernels (src/cpu/wasm-tile.ts) with different numbers of far read streams and unrolls, compared in ONE
// wasm memory: a module built with `tile` = [1, C_A] and `gemv` = [1, C_B] holds both kernels over the same weights.
// Why one memory: on this VM the same kernel streamed 1.2–1.3× faster from one wasm memory than from another
// (bench/wasm-dot-kernels.mjs gives each variant its own), more than the differences between one-row variants.
// o = x · wᵀ, w [N, K] from DRAM (copies rotate through 240 MB); multiply-adds per CPU-second, median of 9 rounds,
// A and B alternating (ABBA order). Both kernels sum every output in the same order, so the outputs must be equal.
//
//   node packages/tensor/bench/gemv-streams.mjs                     # after npm run build: A = 8 streams, B = 4
//   AB=8,2,4,2 SHAPES='[[288,32000],[768,2048]]' node packages/tensor/bench/gemv-streams.mjs   # C_A,U_A,C_B,U_B
import { cpus, loadavg } from 'node:os';
import { newSharedMemory, tileModuleBytes } from '../dist/cpu/wasm-tile.js';

const [CA, UA, CB, UB] = (process.env.AB ?? '8,2,4,2').split(',').map(Number);
const SHAPES = JSON.parse(process.env.SHAPES ?? '[[288,32000],[768,2048],[288,768],[768,288],[288,288]]');
const ROUNDS = 9;
const W = 1 << 20; // first float of the weights (x at 0)
const WEIGHT_FLOATS = 60e6;
const O = W + WEIGHT_FLOATS + (1 << 20);

const shapes = { tile: [1, CA], gemv: [1, CB], unroll: UA, gemvUnroll: UB };
const e = new WebAssembly.Instance(new WebAssembly.Module(tileModuleBytes(true, shapes)), {
  env: { mem: newSharedMemory() },
}).exports;
e.mem.grow(Math.ceil((4 * (O + 2 * 64000)) / 65536));
const f = new Float32Array(e.mem.buffer);
let s = 12345;
for (let i = 0; i < W + WEIGHT_FLOATS; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) | 0;
  f[i] = (s >>> 8) / 2 ** 24 - 0.5;
}
console.log(
  `# one-row kernels in one memory: A [1, ${CA}] unroll ${UA}, B [1, ${CB}] unroll ${UB}; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`,
);
for (const [K, N] of SHAPES) {
  const kB = 4 * K;
  const copies = Math.max(1, Math.floor(WEIGHT_FLOATS / (N * K)));
  const reps = Math.max(8, Math.round(3e8 / (N * K)));
  // The far layout of matmul-wasm.ts: stream c reads rows [c·q, (c + 1)·q); N must be a multiple of both C.
  const kernel = (fn, C, out) => (w) =>
    fn(0, kB, 1, 4 * w, (N / C) * kB, N / C, kB, 4 * out, 4 * N, kB, 4 * (N / C), 4, 0);
  const runs = [
    { name: 'A', call: kernel(e.tile, CA, O), out: O, ms: [] },
    { name: 'B', call: kernel(e.gemv, CB, O + 64000), out: O + 64000, ms: [] },
  ];
  for (const r of runs) r.call(W);
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of round % 2 ? runs : [...runs].reverse()) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) r.call(W + (i % copies) * N * K);
      const u = process.cpuUsage(c0);
      r.ms.push((u.user + u.system) / 1000 / reps);
    }
  }
  for (const r of runs) r.call(W);
  let mismatches = 0;
  for (let i = 0; i < N; i++) if (f[O + i] !== f[O + 64000 + i]) mismatches++;
  const rate = (ms) => (K * N) / ms.sort((x, y) => x - y)[ROUNDS >> 1] / 1e6;
  const [a, b] = runs.map((r) => rate(r.ms));
  console.log(
    `[1, ${K}] · [${N}, ${K}]ᵀ: A ${a.toFixed(2)} G/s | B ${b.toFixed(2)} G/s | A ÷ B ${(a / b).toFixed(2)}×${mismatches ? ` MISMATCH ${mismatches}` : ''}`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
