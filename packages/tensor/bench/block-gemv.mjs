// Benchmark: one decode-step GEMV x [M, K] · Wᵀ, W [N, K], f32 `linear` vs `blockLinear` with F16 / BF16 / Q8_0 / Q4_0 /
// Q4_K / Q6_K weights (K a multiple of 256 for the K-quants). Prints wall ms and, on the CPU, CPU ms per product (the
// process's CPU time: steadier than wall time on a shared machine).
// `js` as the last argument runs the CPU's float64 JS kernels (the fallback) instead of the WebAssembly SIMD ones.
// usage: node packages/tensor/bench/block-gemv.mjs [backend=cpu] [N=2048] [K=768] [reps=20] [M=1] [wasm|js]
import { BlockWeight, blockLinear, linear, randn, setBackend, setCpuMatmulKernels, sync, tensor } from '@andes/tensor';

const backend = process.argv[2] ?? 'cpu';
const N = Number(process.argv[3] ?? 2048);
const K = Number(process.argv[4] ?? 768);
const reps = Number(process.argv[5] ?? 20);
const M = Number(process.argv[6] ?? 1);
setCpuMatmulKernels(process.argv[7] === 'js' ? 'js' : 'wasm');
await setBackend(backend);
const values = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
const x = randn([M, K]);
const wf = tensor(values, [N, K]);
const cases = [['f32', (xx) => linear(xx, wf)]];
for (const type of ['F16', 'BF16', 'Q8_0', 'Q4_0', ...(K % 256 === 0 ? ['Q4_K', 'Q6_K'] : [])]) {
  const w = BlockWeight.quantize(type, [N, K], values);
  cases.push([type, (xx) => blockLinear(xx, w)]);
}
console.log(
  `${backend}: x [${M}, ${K}] · W [${N}, ${K}]ᵀ, ${reps} reps${process.argv[7] === 'js' ? ', JS kernels' : ''}`,
);
for (const [name, run] of cases) {
  for (let w = 0; w < 2; w++) await run(x).data(); // warm-up (pipeline compile; a CPU weight moves into wasm memory)
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) run(x).dispose();
  await sync();
  const ms = (performance.now() - t0) / reps;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000 / reps;
  console.log(`${name}: ${ms.toFixed(3)} ms per GEMV, ${cpuMs.toFixed(3)} CPU ms`);
}
