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
console.log(`${backend}: x [1, ${K}] · W [${N}, ${K}]ᵀ, median of 7 interleaved rounds of ${reps} calls per case`);
for (const [, run] of cases) await run(x).data(); // warm-up (pipeline compile, weight placement)
// Rounds interleave the cases so that a change of machine load hits all of them alike.
// CPU time of the whole process (lavapipe's threads included) is far less sensitive to other jobs than wall time.
const times = cases.map(() => []);
const cpuTimes = cases.map(() => []);
for (let round = 0; round < 7; round++) {
  for (const [i, [, run]] of cases.entries()) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) run(x).dispose();
    await sync();
    const c = process.cpuUsage(c0);
    times[i].push((performance.now() - t0) / reps);
    cpuTimes[i].push((c.user + c.system) / 1000 / reps);
  }
}
const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
const base = median([...times[0]]);
const cpuBase = median([...cpuTimes[0]]);
for (const [i, [name]] of cases.entries()) {
  const ms = median(times[i]);
  const cpu = median(cpuTimes[i]);
  console.log(
    `${name}: ${ms.toFixed(3)} ms wall (${(base / ms).toFixed(2)}× float32), ` +
      `${cpu.toFixed(3)} CPU-ms (${(cpuBase / cpu).toFixed(2)}× float32) per GEMV`,
  );
}
