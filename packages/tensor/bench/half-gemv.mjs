// Benchmark: one decode-step GEMV x [1, K] · Wᵀ, W [N, K], with W a float32, float16 or bfloat16 tensor (`linear`),
// and, as the existing inference-only peer, W as F16 blocks (`blockLinear`). Same weights, same process, back to back.
// usage: node packages/tensor/bench/half-gemv.mjs [backend=cpu] [N=2048] [K=768] [reps=20]
import { BlockWeight, blockLinear, linear, randn, setBackend, sync, tensor } from '@andes/tensor';

const backend = process.argv[2] ?? 'cpu';
const N = Number(process.argv[3] ?? 2048);
const K = Number(process.argv[4] ?? 768);
const reps = Number(process.argv[5] ?? 20);
await setBackend(backend);
const values = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
const x = randn([1, K]);
const w32 = tensor(values, [N, K]);
const w16 = tensor(values, [N, K], { dtype: 'float16' });
const wbf = tensor(values, [N, K], { dtype: 'bfloat16' });
const block = BlockWeight.quantize('F16', [N, K], values);
const cases = [
  ['float32 tensor', (xx) => linear(xx, w32)],
  ['float16 tensor', (xx) => linear(xx, w16)],
  ['bfloat16 tensor', (xx) => linear(xx, wbf)],
  ['F16 BlockWeight', (xx) => blockLinear(xx, block)],
];
console.log(`${backend}: x [1, ${K}] · W [${N}, ${K}]ᵀ, median of 3 batches of ${reps}`);
const rows = [];
for (const [name, run] of cases) {
  await run(x).data(); // warm-up (pipeline compile, weight placement)
  const batches = [];
  for (let b = 0; b < 3; b++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run(x).dispose();
    await sync();
    batches.push((performance.now() - t0) / reps);
  }
  rows.push([name, batches.sort((a, b) => a - b)[1]]);
}
const base = rows[0][1];
for (const [name, ms] of rows)
  console.log(`${name}: ${ms.toFixed(3)} ms per GEMV (${(base / ms).toFixed(2)}× float32's speed)`);
