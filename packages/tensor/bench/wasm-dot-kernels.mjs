// Numbered variants of the CPU backend's dot-form WebAssembly SIMD kernels (src/cpu/wasm-tile.ts) on decode shapes:
// o = a · wᵀ with w a [N, K] weight in wasm memory, read from DRAM (copies of w rotate so none stays in cache).
// Rates are multiply-adds per CPU-second (user + system), robust to a machine shared with other work; compare only
// rows of one run. The winner is DOT_SHAPES in wasm-tile.ts and the far layout in matmul-wasm.ts.
//
//   node packages/tensor/bench/wasm-dot-kernels.mjs          # after npm run build
//   SHAPES='[[1,288,32000],[16,288,32000]]' REPS=20 node packages/tensor/bench/wasm-dot-kernels.mjs
//
// All variants sum each output in the same order (lanes k mod 4, in k order), so they must agree bit for bit; the
// bench checks that against v1 and reports any mismatch.
import { cpus, loadavg } from 'node:os';
import { tileModuleBytes } from '../dist/cpu/wasm-tile.js';

/** Keep the numbering stable: BENCHMARKS.md refers to it. near = a group's C rows adjacent; far = C long streams. */
const VARIANTS = {
  v1: { tile: [2, 4], gemv: [1, 8], unroll: 4, layout: 'near' }, // the kernels before 2026-12-04 (in-wasm loops)
  v2: { tile: [2, 4], gemv: [1, 8], unroll: 2, layout: 'far' },
  v3: { tile: [2, 2], gemv: [1, 4], unroll: 2, layout: 'far' }, // chosen
  v4: { tile: [2, 2], gemv: [1, 4], unroll: 4, layout: 'far' },
  v5: { tile: [4, 2], gemv: [1, 2], unroll: 2, layout: 'far' },
  v6: { tile: [1, 4], gemv: [1, 1], unroll: 2, layout: 'far' },
  v7: { tile: [2, 2], gemv: [1, 4], unroll: 1, layout: 'far' },
  v8: { tile: [3, 3], gemv: [1, 3], unroll: 1, layout: 'far' },
  v9: { tile: [3, 3], gemv: [1, 3], unroll: 2, layout: 'far' },
  v10: { tile: [2, 3], gemv: [1, 6], unroll: 2, layout: 'far' },
};
const SHAPES = JSON.parse(
  process.env.SHAPES ?? '[[1,288,32000],[1,768,2048],[1,2048,768],[16,288,32000],[16,768,2048]]',
);
const REPS = Number(process.env.REPS ?? 20);
const WEIGHT_FLOATS = 60e6; // the rotating copies of w: far more than the 16 MiB L3

console.log(`# dot kernels, ${REPS} reps; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`);
const kernels = Object.entries(VARIANTS).map(([name, v]) => {
  const e = new WebAssembly.Instance(new WebAssembly.Module(tileModuleBytes(true, v))).exports;
  return { name, v, e };
});
// One memory per variant; fill a and the weights identically (seeded LCG).
const A = 0;
const W = 1 << 20;
const O = W + WEIGHT_FLOATS + (1 << 20);
for (const { e } of kernels) {
  const needed = 4 * (O + 16 * 32768) - e.mem.buffer.byteLength;
  if (needed > 0) e.mem.grow(Math.ceil(needed / 65536));
  const f = new Float32Array(e.mem.buffer);
  let s = 12345;
  for (let i = 0; i < W + WEIGHT_FLOATS; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    f[i] = (s >>> 8) / 2 ** 24 - 0.5;
  }
}

for (const [M, K, N] of SHAPES) {
  const copies = Math.max(1, Math.floor(WEIGHT_FLOATS / (N * K)));
  const kB = 4 * K;
  const cells = [];
  let reference = null;
  for (const { name, v, e } of kernels) {
    const [R, C] = M === 1 ? v.gemv : v.tile;
    const kernel = M === 1 ? e.gemv : e.tile;
    if (M % R !== 0 || N % C !== 0) continue;
    const q = N / C;
    const call = (w) =>
      v.layout === 'far'
        ? kernel(4 * A, kB, M / R, 4 * w, q * kB, q, kB, 4 * O, 4 * N, kB, 4 * q, 4)
        : kernel(4 * A, kB, M / R, 4 * w, kB, q, kB, 4 * O, 4 * N, C * kB, 4, 4 * C);
    call(W); // warm-up (tier-up)
    const c0 = process.cpuUsage();
    for (let r = 0; r < REPS; r++) call(W + (r % copies) * N * K);
    const u = process.cpuUsage(c0);
    const ms = (u.user + u.system) / 1000 / REPS;
    call(W);
    const out = new Float32Array(e.mem.buffer, 4 * O, M * N).slice();
    let mismatches = 0;
    if (reference === null) reference = out;
    else for (let i = 0; i < out.length; i++) if (out[i] !== reference[i]) mismatches++;
    const rate = (M * K * N) / ms / 1e6;
    cells.push(`${name} ${ms.toFixed(2)} ms ${rate.toFixed(2)} G/s${mismatches ? ` MISMATCH ${mismatches}` : ''}`);
  }
  console.log(`[${M}, ${K}] · [${N}, ${K}]ᵀ: ${cells.join(' | ')}`);
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
