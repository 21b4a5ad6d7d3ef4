// A/B of the CPU block kernels (src/cpu/wasm-block-kernels.ts) of two builds of @andes/tensor in one process: each
// build's module runs over the same shared memory, weights and activations, one decode row (x [1, K] · Wᵀ, W [N, K]),
// rounds interleaved so that a change in machine load hits both alike. Rates are CPU-ms per product (process CPU
// time, robust on a shared machine); the activation quantization (or F16's float copy) is included, as in a call.
// It also prints the largest difference between the two builds' outputs.
//
//   cp -r packages/tensor/dist /tmp/before   # a build of the code before the change
//   npm run build -w @andes/tensor
//   node packages/tensor/bench/block-kernels-ab.mjs /tmp/before packages/tensor/dist 32000 768 5 7 F16,Q8_0,Q4_0
//
// STREAMS_A / STREAMS_B pick a build's decode kernel over that many weight streams (`<type>_1x<streams>`, 1 default).
// CHUNK=768 calls the kernel on 768 weight rows at a time, as a decode step calls one layer's matrix after another.
// RELAXED_A=1 / RELAXED_B=1 build that side's module on relaxed SIMD (builds from 2026-12-05 on, src/cpu/
// wasm-relaxed-simd.ts; the flag Node 20 needs is set by the build's own detection).
import { resolve } from 'node:path';

const [distA = 'packages/tensor/dist', distB = 'packages/tensor/dist'] = process.argv.slice(2, 4);
const N = Number(process.argv[4] ?? 2048);
const K = Number(process.argv[5] ?? 768);
const reps = Number(process.argv[6] ?? 50);
const rounds = Number(process.argv[7] ?? 7);
const types = (process.argv[8] ?? 'Q4_0,Q8_0,F16').split(',');
const chunk = Number(process.env.CHUNK ?? N);
const builds = { A: resolve(distA), B: resolve(distB) };
/** Bytes and elements of one block (F16: 16 halves, the kernels' unit). */
const UNIT = { Q4_0: [18, 32], Q8_0: [34, 32], F16: [32, 16] };

// Layout of the shared memory: work area (activations, pairs, outputs) below 64 MiB, the f16 table, then weights.
const WORK = 64 * 1024 * 1024;
const [X, PAIRS, F_X] = [0, 8 * 1024 * 1024, 48 * 1024 * 1024];
const OUT = { A: 16 * 1024 * 1024, B: 20 * 1024 * 1024 };
const WEIGHTS = WORK + 4 * 65536 + 4096;
const { float16BitsToFloat32, float32ToFloat16Bits } = await import(`${builds.B}/formats/half-precision.js`);
const wBytes = Math.max(...types.map((t) => (N * K * UNIT[t][0]) / UNIT[t][1]));
const memory = new WebAssembly.Memory({
  initial: Math.ceil((WEIGHTS + wBytes + 65536) / 65536),
  maximum: 65536,
  shared: true,
});
const exports = {};
/** Per build: the export that quantizes activations for a type's kernel (older builds: by the `wide` rule). */
const quantizeExport = {};
for (const [tag, dist] of Object.entries(builds)) {
  const kernels = await import(`${dist}/cpu/wasm-block-kernels.js`);
  const relaxed = process.env[`RELAXED_${tag}`] === '1';
  if (relaxed) {
    const { relaxedSimdSupported } = await import(`${dist}/cpu/wasm-relaxed-simd.js`);
    if (!relaxedSimdSupported()) throw new Error('relaxed SIMD is not available in this engine');
  }
  const module = new WebAssembly.Module(kernels.blockModuleBytes(relaxed));
  exports[tag] = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
  quantizeExport[tag] = (type) =>
    kernels.blockUnits
      ? kernels.QUANTIZE_EXPORTS[kernels.blockUnits(relaxed)[type].activations]
      : exports[tag].quantize_rows_wide
        ? 'quantize_rows_wide'
        : 'quantize_rows';
}
const buffer = memory.buffer;
const table = new Float32Array(buffer, WORK, 65536);
for (let h = 0; h < 65536; h++) table[h] = float16BitsToFloat32(h);
const bytes = new Uint8Array(buffer);
const x = Float32Array.from({ length: K }, () => Math.random() * 2 - 1);
new Float32Array(buffer, F_X, K).set(x);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

console.log(`x [1, ${K}] · W [${N}, ${K}]ᵀ, A = ${builds.A}, B = ${builds.B}, ${reps} reps × ${rounds} rounds`);
for (const type of types) {
  const [unitBytes, unitElements] = UNIT[type];
  const wStride = (K / unitElements) * unitBytes;
  if (type === 'F16') {
    const halves = new Uint16Array(buffer, WEIGHTS, N * K);
    for (let i = 0; i < N * K; i++) halves[i] = float32ToFloat16Bits(Math.random() - 0.5);
  } else {
    for (let i = 0; i < N * wStride; i++) bytes[WEIGHTS + i] = (Math.random() * 256) | 0;
    for (let at = WEIGHTS; at < WEIGHTS + N * wStride; at += unitBytes) {
      const d = float32ToFloat16Bits(0.01 * (1 + Math.random())); // a valid block scale
      bytes[at] = d & 255;
      bytes[at + 1] = d >> 8;
    }
  }
  const run = {};
  const outputs = {};
  for (const [tag, e] of Object.entries(exports)) {
    const streams = Number(process.env[`STREAMS_${tag}`] ?? 1);
    // Kernel names: `<type>_<rows>x<streams>` since 2026-12-05, `<type>_<rows>` before.
    const kernel = e[`${type}_1x${streams}`] ?? (streams === 1 ? e[`${type}_1`] : undefined);
    if (!kernel) throw new Error(`${builds[tag]}: no ${type} kernel over ${streams} streams`);
    const prepare = () => {
      if (type === 'F16')
        new Float32Array(buffer, X, K).set(x.map((v) => v * 2 ** 112)); // the kernel's scaling
      else e[quantizeExport[tag](type)](F_X, K / 32, X, PAIRS, 0, 0, 0, 0, 0, 0);
    };
    run[tag] = () => {
      prepare();
      // CHUNK rows per call (default N): a decode step calls each layer's matrix in turn, the whole model once.
      for (let j0 = 0; j0 < N; j0 += chunk) {
        const n = Math.min(chunk, N - j0);
        kernel(X, 0, PAIRS, 0, WEIGHTS + j0 * wStride, wStride, wStride, n, OUT[tag] + 4 * j0, 0);
      }
    };
    run[tag]();
    outputs[tag] = new Float32Array(buffer, OUT[tag], N).slice();
  }
  let diff = 0;
  let magnitude = 0;
  for (let i = 0; i < N; i++) {
    diff = Math.max(diff, Math.abs(outputs.A[i] - outputs.B[i]));
    magnitude = Math.max(magnitude, Math.abs(outputs.A[i]));
  }
  const times = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const tag of r % 2 ? ['B', 'A'] : ['A', 'B']) {
      const c0 = cpuMs();
      for (let i = 0; i < reps; i++) run[tag]();
      times[tag].push((cpuMs() - c0) / reps);
    }
  }
  const [a, b] = [median(times.A), median(times.B)];
  console.log(
    `${type}: A ${a.toFixed(3)} CPU-ms, B ${b.toFixed(3)} CPU-ms, A/B ${(a / b).toFixed(2)}×, ` +
      `B ${((N * K) / b / 1e6).toFixed(2)} G multiply-adds per CPU-s; max |A − B| ${diff.toExponential(2)} ` +
      `(outputs up to ${magnitude.toExponential(2)})`,
  );
}
