// The CPU backend's float32 WebAssembly kernels, plain against fused (relaxed SIMD `f32x4.relaxed_madd`), in ONE
// module and memory as the backend builds it (src/cpu/wasm-tile.ts: `tile` vs `tileFused`, …), so both read the same
// weights from the same place (one memory can stream 1.2–1.3× slower than another on this VM: gemv-streams.mjs).
// Dot form (`tile`, M ≥ 2, and `gemv`, M = 1): o = a · wᵀ, w [N, K] in the far layout of matmul-wasm.ts; axpy form
// (`rows`, `gemvRows`): o = a · b, b [K, N] row-major, strips of 8 columns as matmul-wasm.ts runs them. Weights rotate
// through 240 MB so they come from DRAM. Multiply-adds per CPU-second, median of ROUNDS rounds, plain and fused
// alternating (ABBA). The fused outputs must stay within float32 rounding of the plain ones (largest |Δ| / max |o|).
//
//   node packages/tensor/bench/fused-kernels.mjs          # after npm run build
//   DOT='[[16,288,32000]]' AXPY='[[64,768,2048]]' ROUNDS=9 node packages/tensor/bench/fused-kernels.mjs
//   PLAIN='{"fma":true}' FUSED='{"wFirst":true}' node …   # override either side's shapes (merged into the backend's)
import { cpus, loadavg } from 'node:os';
import { relaxedSimdSupported } from '../dist/cpu/wasm-relaxed-simd.js';
import {
  DOT_SHAPES,
  FUSED_DOT_SHAPES,
  FUSED_SUFFIX,
  newSharedMemory,
  packTiles,
  tileModuleBytes,
} from '../dist/cpu/wasm-tile.js';

if (!relaxedSimdSupported()) throw new Error('fused-kernels: this engine has no relaxed SIMD');
const DOT = JSON.parse(
  process.env.DOT ??
    '[[1,288,32000],[1,768,2048],[2,288,32000],[4,288,32000],[16,288,32000],[16,768,288],[16,288,768],[64,768,2048],[192,288,768]]',
);
const AXPY = JSON.parse(process.env.AXPY ?? '[[1,288,768],[16,288,768],[16,768,288],[64,768,2048],[192,288,768]]');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const PLAIN = { ...DOT_SHAPES, ...JSON.parse(process.env.PLAIN ?? '{}') };
const FUSED = { ...FUSED_DOT_SHAPES, ...JSON.parse(process.env.FUSED ?? '{}') };
const [R, C] = PLAIN.tile;
const G = PLAIN.gemv[1];
if (FUSED.tile.join() !== PLAIN.tile.join() || FUSED.gemv.join() !== PLAIN.gemv.join()) {
  throw new Error('fused-kernels: both sides must have the same tile shapes (they share the packed a and the outputs)');
}
const A = 0; // a, row-major (axpy form) then packed (dot form) at P
const P = 1 << 19;
const W = 1 << 20;
const WEIGHT_FLOATS = 60e6;
const O = W + WEIGHT_FLOATS + (1 << 20);

const e = new WebAssembly.Instance(new WebAssembly.Module(tileModuleBytes(true, PLAIN, FUSED)), {
  env: { mem: newSharedMemory() },
}).exports;
e.mem.grow(Math.ceil((4 * (O + 2 * 200 * 32008)) / 65536));
const f = new Float32Array(e.mem.buffer);
let s = 12345;
for (let i = 0; i < W + WEIGHT_FLOATS; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) | 0;
  f[i] = (s >>> 8) / 2 ** 24 - 0.5;
}
console.log(
  `# plain ${JSON.stringify(PLAIN)} vs fused ${JSON.stringify(FUSED)}, one memory; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()[0].toFixed(2)}`,
);

/** Calls of one kernel over the rotating weight copies: { call(w, out) } per kind, plus the output's size. */
function dotCalls(M, K, N) {
  const kB = 4 * K;
  const one = M === 1;
  const cols = one ? G : C;
  const rest = M % R;
  const tail = !one && rest > 0 && rest <= 2 ? 1 : 0;
  const tiles = one ? 1 : Math.floor(M / R) + (rest > 0 && !tail ? 1 : 0);
  const Mp = one ? 1 : tiles * R + 2 * tail;
  const q = Math.ceil(N / cols);
  packTiles(f.slice(A, A + M * K), 0, M, K, one ? 1 : R, Mp, f, P, K);
  const name = one ? 'gemv' : 'tile';
  const oStride = q * cols;
  const make = (fn) => (w, out) => fn(4 * P, kB, tiles, 4 * w, q * kB, q, kB, 4 * out, 4 * oStride, kB, 4 * q, 4, tail);
  return { name, plain: make(e[name]), fused: make(e[name + FUSED_SUFFIX]), rows: M, stride: oStride };
}
function axpyCalls(M, K, N) {
  const one = M === 1;
  const name = one ? 'gemvRows' : 'rows';
  const Mp = one ? 1 : Math.ceil(M / 4) * 4;
  const make = (fn) => (w, out) => {
    for (let j = 0; j < N; j += 8) {
      for (let i = 0; i < Mp; i += one ? 1 : 4)
        fn(4 * (A + i * K), 4 * K, 4 * (w + j), 4 * N, 4 * K, 4 * (out + i * N + j), 4 * N);
    }
  };
  return { name, plain: make(e[name]), fused: make(e[name + FUSED_SUFFIX]), rows: M, stride: N };
}

for (const [form, shapes, calls] of [
  ['dot', DOT, dotCalls],
  ['axpy', AXPY, axpyCalls],
]) {
  for (const [M, K, N] of shapes) {
    const { name, plain, fused, rows, stride } = calls(M, K, N);
    const copies = Math.max(1, Math.floor(WEIGHT_FLOATS / ((N + 8) * K)));
    const reps = Math.max(2, Math.round(2e8 / (M * N * K) + 1));
    const outs = [O, O + 200 * 32008];
    const runs = [
      { kind: 'plain', call: plain, out: outs[0], ms: [] },
      { kind: 'fused', call: fused, out: outs[1], ms: [] },
    ];
    for (const r of runs) r.call(W, r.out);
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of round % 2 ? runs : [...runs].reverse()) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) r.call(W + (i % copies) * (N + 8) * K, r.out);
        const u = process.cpuUsage(c0);
        r.ms.push((u.user + u.system) / 1000 / reps);
      }
    }
    for (const r of runs) r.call(W, r.out);
    let diff = 0;
    let top = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < N; j++) {
        const [p, q] = outs.map((o) => f[o + i * stride + j]);
        diff = Math.max(diff, Math.abs(p - q));
        top = Math.max(top, Math.abs(p));
      }
    }
    const rate = (ms) => (M * K * N) / ms.sort((x, y) => x - y)[ROUNDS >> 1] / 1e6;
    const [p, q] = runs.map((r) => rate(r.ms));
    console.log(
      `${form} ${name} [${M}, ${K}] · [${N}, ${K}]ᵀ: plain ${p.toFixed(2)} G/s | fused ${q.toFixed(2)} G/s | ${(q / p).toFixed(2)}× (Δ ${(diff / top).toExponential(1)})`,
    );
  }
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
