// Benchmark: one decode-step GEMV x [1, K] · Wᵀ, W [N, K], f32 `linear` vs `blockLinear` with F16 / Q8_0 / Q4_0 weights.
// usage: node packages/tensor/bench/block-gemv.mjs [backend=cpu] [N=2048] [K=768] [reps=20]
import { BlockWeight, blockLinear, linear, randn, setBackend, sync, tensor } from '@andes/tensor';

const backend = process.argv[2] ?? 'cpu';
const N = Number(process.argv[3] ?? 2048);
const K = Number(process.argv[4] ?? 768);
const reps = Number(process.argv[5] ?? 20);
await setBackend(backend);
const values = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
const x = randn([1, K]);
const wf = tensor(values, [N, K]);
const cases = [['f32', (xx) => linear(xx, wf)]];
for (const type of ['F16', 'Q8_0', 'Q4_0']) {
  const w = BlockWeight.quantize(type, [N, K], values);
  cases.push([type, (xx) => blockLinear(xx, w)]);
}
console.log(`${backend}: x [1, ${K}] · W [${N}, ${K}]ᵀ, ${reps} reps`);
for (const [name, run] of cases) {
  await run(x).data(); // warm-up (pipeline compile)
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run(x).dispose();
  await sync();
  const ms = (performance.now() - t0) / reps;
  console.log(`${name}: ${ms.toFixed(3)} ms per GEMV`);
}
