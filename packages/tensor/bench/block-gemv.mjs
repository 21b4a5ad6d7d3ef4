// Benchmark: one decode-step GEMV x [M, K] · Wᵀ, W [N, K], f32 `linear` vs `blockLinear` with F16 / BF16 / Q8_0 / Q4_0 /
// Q4_K / Q6_K weights, each format with the backend's choice (the tuned winner, or the per-adapter default with
// ANDES_TUNE=off). `variants` (webgpu) adds one row per registered block-matmul variant (BLOCK_VARIANTS=s4,s8 picks).
// `js` (cpu) runs the CPU's float64 JS kernels (the fallback) instead of the WebAssembly SIMD ones.
// usage: node packages/tensor/bench/block-gemv.mjs [backend=cpu] [N=2048] [K=768] [reps=20] [M=1] [variants|js]
import { BlockWeight, blockLinear, linear, randn, setBackend, setCpuMatmulKernels, sync, tensor } from '@andes/tensor';

const backend = process.argv[2] ?? 'cpu';
const N = Number(process.argv[3] ?? 2048);
const K = Number(process.argv[4] ?? 768);
const reps = Number(process.argv[5] ?? 20);
const M = Number(process.argv[6] ?? 1);
const perVariant = process.argv[7] === 'variants';
setCpuMatmulKernels(process.argv[7] === 'js' ? 'js' : 'wasm');
await setBackend(backend);
const values = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);

/** Valid K-quant bytes for timing: random payload, small f16 scales (the kernels' work does not depend on values). */
function kQuantBytes(type) {
  const [size, scaleAt] = type === 'Q4_K' ? [144, [0, 2]] : [210, [208]];
  const bytes = Uint8Array.from({ length: (N * K * size) / 256 }, () => Math.floor(Math.random() * 256));
  for (let at = 0; at < bytes.length; at += size) for (const s of scaleAt) bytes.set([0x00, 0x20], at + s); // 2⁻¹⁵·…
  return bytes;
}

const x = randn([M, K]);
const wf = tensor(values, [N, K]);
const cases = [['f32', () => linear(x, wf)]];
const weights = {};
for (const type of ['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K']) {
  if (type.endsWith('_K') && K % 256 !== 0) continue;
  const w = type.endsWith('_K')
    ? BlockWeight.fromBytes(type, [N, K], kQuantBytes(type))
    : BlockWeight.quantize(type, [N, K], values);
  weights[type] = w;
  cases.push([type, () => blockLinear(x, w)]);
}

/** Median over `rounds` of wall and process-CPU milliseconds per product (lavapipe's threads run in this process). */
async function time(run, rounds = 3) {
  await run().data(); // warm-up (pipeline compile; with tuning on, this also tunes the shape class)
  await run().data();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run().dispose();
    await sync();
    wall.push((performance.now() - t0) / reps);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / reps);
  }
  const mid = (a) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)];
  return { wall: mid(wall), cpu: mid(cpu) };
}

const fmt = (t) => `${t.wall.toFixed(2)} ms (${t.cpu.toFixed(2)} CPU-ms)`;
console.log(
  `${backend}: x [${M}, ${K}] · W [${N}, ${K}]ᵀ, ${reps} reps × 3 rounds, ANDES_TUNE=${process.env.ANDES_TUNE ?? 'on'}`,
);
for (const [, run] of cases) await time(run, 1); // compile and tune everything first, so the rows below compare runs
for (const [name, run] of cases) console.log(`${name}: ${fmt(await time(run))} per product`);

if (perVariant && backend === 'webgpu') {
  // The kernel module behind @andes/tensor's dist (same instance: Node keys modules by real path).
  const { setBlockMatmulVariant } = await import('../dist/webgpu/kernels/block-matmul.js');
  const { BLOCK_MATMUL_VARIANTS } = await import('../dist/webgpu/tuning/block-family.js');
  const only = process.env.BLOCK_VARIANTS?.split(','); // e.g. BLOCK_VARIANTS=s4,s8
  const ids = Object.keys(BLOCK_MATMUL_VARIANTS).filter((id) => !only || only.includes(id));
  console.log(`CPU-ms per product (wall ms in brackets); f32 again: ${fmt(await time(cases[0][1]))}`);
  console.log(`| format | ${ids.join(' | ')} |`);
  console.log(`|---|${ids.map(() => '---').join('|')}|`);
  for (const [type, w] of Object.entries(weights)) {
    const row = [];
    for (const id of ids) {
      setBlockMatmulVariant(BLOCK_MATMUL_VARIANTS[id]);
      try {
        const t = await time(() => blockLinear(x, w));
        row.push(`${t.cpu.toFixed(2)} (${t.wall.toFixed(2)})`);
      } catch {
        row.push('—'); // e.g. g1 without the subgroups feature
      }
    }
    setBlockMatmulVariant(undefined);
    console.log(`| ${type} | ${row.join(' | ')} |`);
  }
}
