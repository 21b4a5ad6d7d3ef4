// Numbered variants of the CPU backend's dot-form WebAssembly SIMD kernels (src/cpu/wasm-tile.ts) on decode shapes:
// o = a · wᵀ with w a [N, K] weight in wasm memory, read from DRAM (copies of w rotate so none stays in cache).
// Rates are multiply-adds per CPU-second (user + system), robust to a machine shared with other work; compare only
// rows of one run. The winner is DOT_SHAPES in wasm-tile.ts and the far layout in matmul-wasm.ts. Caveat: each variant
// reads its own memory, and on this VM one memory can stream 1.2–1.3× slower than another for the same kernel (the
// first instantiated, in runs of 2026-12-05); one-row kernels are compared in one memory by gemv-streams.mjs.
//
//   node packages/tensor/bench/wasm-dot-kernels.mjs          # after npm run build
//   SHAPES='[[1,288,32000],[16,288,32000]]' REPS=4 ROUNDS=5 VARIANTS=b1,b2 node packages/tensor/bench/wasm-dot-kernels.mjs
//   BASE=/path/to/older/packages/tensor/dist node …          # adds that build's kernels as "base" (row-major a)
//
// v1–v10 in BENCHMARKS.md are the kernels before 2026-12-05 (a row-major, one address add per load); since then a
// is packed per tile and streams advance by pointer bumps (b1–b7 here). All variants sum each output in the same
// order (lanes k mod 4, in k order), so they must agree bit for bit; the bench checks that and reports any mismatch.
import { cpus, loadavg } from 'node:os';
import { relaxedSimdSupported } from '../dist/cpu/wasm-relaxed-simd.js';
import { newSharedMemory, packTiles, tileModuleBytes } from '../dist/cpu/wasm-tile.js';

/** Keep the numbering stable: BENCHMARKS.md refers to it. Every variant uses the far layout (C long read streams). */
const VARIANTS = {
  b1: { tile: [2, 2], gemv: [1, 4], unroll: 2, gemvUnroll: 2 }, // v3's shapes, packed a + pointer bumps
  b2: { tile: [4, 2], gemv: [1, 4], unroll: 1, gemvUnroll: 2 }, // tile chosen (tail tile of 2 rows)
  b3: { tile: [4, 2], gemv: [1, 4], unroll: 2, gemvUnroll: 1 },
  b4: { tile: [2, 4], gemv: [1, 8], unroll: 2, gemvUnroll: 4 },
  b5: { tile: [2, 2], gemv: [1, 2], unroll: 1, gemvUnroll: 1 },
  b6: { tile: [8, 1], gemv: [1, 1], unroll: 1, gemvUnroll: 2 },
  b7: { tile: [4, 4], gemv: [1, 4], unroll: 1, gemvUnroll: 4 },
  b8: { tile: [4, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2 }, // chosen since 2026-12-05: b2 with 8 far streams per row
  // Fused multiply-adds (relaxed SIMD). wFirst: the C w vectors first, then one a vector per row (C + 1 + R·C vectors).
  f1: { tile: [4, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true }, // b8 fused
  f2: { tile: [4, 2], gemv: [1, 8], unroll: 2, gemvUnroll: 2, fma: true },
  f3: { tile: [4, 3], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f4: { tile: [3, 4], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f5: { tile: [6, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f6: { tile: [5, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f7: { tile: [4, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f8: { tile: [3, 3], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f9: { tile: [4, 3], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true },
  f10: { tile: [2, 4], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true },
  f11: { tile: [7, 2], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f12: { tile: [4, 4], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true, wFirst: true },
  f13: { tile: [3, 3], gemv: [1, 8], unroll: 1, gemvUnroll: 2, fma: true },
};
const ONLY = process.env.VARIANTS?.split(',');
const SHAPES = JSON.parse(
  process.env.SHAPES ??
    '[[16,288,32000],[16,768,288],[16,288,768],[192,288,768],[64,768,2048],[4,288,32000],[1,288,32000]]',
);
const REPS = Number(process.env.REPS ?? 4);
const WEIGHT_FLOATS = 60e6; // the rotating copies of w: far more than the 16 MiB L3

console.log(`# dot kernels, ${REPS} reps; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`);
if (!relaxedSimdSupported()) console.log('# no relaxed SIMD here: the fused variants are left out');
const kernels = Object.entries(VARIANTS)
  .filter(([name, v]) => (!ONLY || ONLY.includes(name)) && (!v.fma || relaxedSimdSupported()))
  .map(([name, v]) => ({ name, v, packed: true, bytes: tileModuleBytes(true, v) }));
if (process.env.BASE) {
  // The older build's chosen kernels: 2 × 2 / 1 × 4, unroll 2, row-major a, 12 parameters.
  const base = await import(`${process.env.BASE}/cpu/wasm-tile.js`);
  kernels.unshift({ name: 'base', v: base.DOT_SHAPES, packed: false, bytes: base.tileModuleBytes(true) });
}
// One memory per variant; fill a and the weights identically (seeded LCG).
const A = 0;
const P = 1 << 19; // a packed per tile
const W = 1 << 20;
const O = W + WEIGHT_FLOATS + (1 << 20);
for (const k of kernels) {
  k.e = new WebAssembly.Instance(new WebAssembly.Module(k.bytes), { env: { mem: newSharedMemory() } }).exports;
  const needed = 4 * (O + Math.max(...SHAPES.map(([M, , N]) => (M + 8) * (N + 8)))) - k.e.mem.buffer.byteLength;
  if (needed > 0) k.e.mem.grow(Math.ceil(needed / 65536));
  const f = new Float32Array(k.e.mem.buffer);
  let s = 12345;
  for (let i = 0; i < W + WEIGHT_FLOATS; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    f[i] = (s >>> 8) / 2 ** 24 - 0.5;
  }
}

// Variants take turns (ROUNDS rounds of REPS calls each) and each reports its median round, so a burst of load on
// the shared machine does not land on one variant only.
const ROUNDS = Number(process.env.ROUNDS ?? 5);
for (const [M, K, N] of SHAPES) {
  const copies = Math.max(1, Math.floor(WEIGHT_FLOATS / (N * K)));
  const kB = 4 * K;
  const runs = [];
  for (const { name, v, packed, e } of kernels) {
    const [R, C] = M === 1 ? v.gemv : v.tile;
    const kernel = M === 1 ? e.gemv : e.tile;
    // Rows padded to whole tiles as matmul-wasm.ts pads them (a 2-row tail tile after tiles of more than 2 rows);
    // columns padded to whole groups (the padding rows of w are read and their outputs dropped). Rates count M · N.
    const rest = M % R;
    const tail = packed && R > 2 && rest > 0 && rest <= 2 ? 1 : 0;
    if (!packed && (rest !== 0 || N % C !== 0)) continue;
    const tiles = Math.floor(M / R) + (rest > 0 && !tail ? 1 : 0);
    const Mp = tiles * R + (tail ? 2 : 0);
    const q = Math.ceil(N / C);
    const a = packed ? P : A;
    if (packed) {
      const f = new Float32Array(e.mem.buffer);
      packTiles(f.slice(A, A + M * K), 0, M, K, M === 1 ? 1 : R, Mp, f, P, K);
    }
    const oStride = 4 * q * C;
    const call = (w) => kernel(4 * a, kB, tiles, 4 * w, q * kB, q, kB, 4 * O, oStride, kB, 4 * q, 4, tail);
    call(W); // warm-up (tier-up)
    runs.push({ name, fma: !!v.fma, e, call, oStride, ms: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of runs) {
      const c0 = process.cpuUsage();
      for (let r = 0; r < REPS; r++) run.call(W + (r % copies) * N * K);
      const u = process.cpuUsage(c0);
      run.ms.push((u.user + u.system) / 1000 / REPS);
    }
  }
  // Plain variants must agree bit for bit, fused ones among themselves (same order of sums, one rounding fewer per
  // multiply-add); the fused ones' largest difference from the plain reference is printed relative to |o|'s max.
  const reference = {};
  const cells = runs.map(({ name, fma, e, call, oStride, ms }) => {
    call(W);
    const all = new Float32Array(e.mem.buffer, 4 * O, (M * oStride) / 4);
    const out = new Float32Array(M * N);
    for (let i = 0; i < M; i++) out.set(all.subarray((i * oStride) / 4, (i * oStride) / 4 + N), i * N);
    let mismatches = 0;
    reference[fma] ??= out;
    for (let i = 0; i < out.length; i++) if (out[i] !== reference[fma][i]) mismatches++;
    let note = mismatches ? ` MISMATCH ${mismatches}` : '';
    if (fma && reference.false) {
      let diff = 0;
      let top = 0;
      for (let i = 0; i < out.length; i++) {
        diff = Math.max(diff, Math.abs(out[i] - reference.false[i]));
        top = Math.max(top, Math.abs(reference.false[i]));
      }
      note += ` (Δ ${(diff / top).toExponential(1)})`;
    }
    const median = ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)];
    const rate = (M * K * N) / median / 1e6;
    return `${name} ${median.toFixed(2)} ms ${rate.toFixed(2)} G/s${note}`;
  });
  console.log(`[${M}, ${K}] · [${N}, ${K}]ᵀ: ${cells.join(' | ')}`);
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
