// Benchmark: the WebGPU `sampleTokens` kernel on rows × vocab logits (a serving step's batch) per sampling setting,
// GPU milliseconds per call (timestamp queries where the adapter has them, else submit-and-wait) and the process's
// CPU milliseconds (on lavapipe its threads run the kernel: steadier than GPU time on a loaded machine), this checkout's
// build against a base build on one device, in interleaved rounds.
// usage: BASE=/tmp/base/dist node packages/tensor/bench/sample-tokens-webgpu.mjs [rows=16] [vocab=32000] [rounds=7]
// BASE is the `dist` folder of a build of the base commit (its kernel must name its pipelines apart from this one's,
// or the two share the runtime's pipeline cache); without it only this build is timed.
import { getBackend, packSamplingRows, setBackend } from '@andes/tensor';

const B = Number(process.argv[2] ?? 16);
const V = Number(process.argv[3] ?? 32000);
const rounds = Number(process.argv[4] ?? 7);
await setBackend('webgpu');
const rt = getBackend().rt;
if (!rt) throw new Error('sample-tokens-webgpu: no WebGPU backend');
const kernels = [['new', new URL('../dist/', import.meta.url)]];
if (process.env.BASE) kernels.unshift(['base', new URL(`file://${process.env.BASE.replace(/\/?$/, '/')}`)]);
for (const k of kernels) k[1] = (await import(new URL('webgpu/kernels/sample-tokens.js', k[1]).href)).sampleTokens;

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed + 0.5) / 2 ** 32;
};
const gauss = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
// Logits shaped like a trained small LM's (a Gaussian bulk, σ 2.5, and a few tokens far above it), and like the
// serve benches' random-weight model's (nearly flat, σ 0.05).
const logitsOf = (sigma, spikes) => {
  const data = new Float32Array(B * V);
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < V; i++) data[r * V + i] = sigma * gauss();
    for (let j = 0; j < spikes; j++) data[r * V + Math.floor(rand() * V)] = 12 + 6 * rand();
  }
  const s = rt.alloc('float32', B * V);
  rt.write(s, data);
  return { storage: s, shape: [B, V], strides: [V, 1], offset: 0 };
};
const inputs = [
  ['trained-like', logitsOf(2.5, 8)],
  ['flat', logitsOf(0.05, 0)],
];
const settings = [
  ['temperature 0.8', { temperature: 0.8, topK: 0, topP: 1 }],
  // What the serve bench's clients send: a logit bias on end-of-sequence (one sparse entry per row).
  ['temperature 0.8 + one logit bias', { temperature: 0.8, topK: 0, topP: 1, logitBias: new Map([[2, -100]]) }],
  ['top-k 40 + top-p 0.9', { temperature: 0.8, topK: 40, topP: 0.9 }],
  ['greedy', { temperature: 0, topK: 0, topP: 1 }],
];
const rowsOf = (s) =>
  packSamplingRows(
    Array.from({ length: B }, () => ({ ...s, uniform: rand() })),
    V,
  );
const results = new Map();
let mismatches = 0;
for (let round = 0; round < rounds + 1; round++) {
  for (const [iname, logits] of inputs)
    for (const [sname, s] of settings) {
      const rows = rowsOf(s);
      const ids = [];
      for (const [kname, kernel] of round % 2 ? [...kernels].reverse() : kernels) {
        let out;
        const c0 = process.cpuUsage();
        const ms = await rt.timeGpu(() => {
          out = kernel(rt, logits, rows, -1);
        });
        const c = process.cpuUsage(c0);
        ids.push(Array.from(await rt.read(out.ids)).join());
        rt.free(out.ids);
        if (round === 0) continue; // compiles
        const key = `${iname}, ${sname}|${kname}`;
        results.set(key, [...(results.get(key) ?? []), [ms, (c.user + c.system) / 1000]]);
      }
      if (new Set(ids).size > 1) mismatches++;
    }
}
console.log(
  `WebGPU sampleTokens on ${rt.cpuAdapter ? 'a CPU adapter' : 'a GPU'}: ${B} rows × vocab ${V}, GPU ms (process CPU-ms) per call, median of ${rounds} interleaved rounds`,
);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [iname] of inputs)
  for (const [sname] of settings) {
    const cells = kernels.map(([k]) => {
      const r = results.get(`${iname}, ${sname}|${k}`);
      return `${k} ${median(r.map((x) => x[0])).toFixed(2)} (${median(r.map((x) => x[1])).toFixed(2)} CPU)`;
    });
    console.log(`${iname}, ${sname}: ${cells.join(', ')}`);
  }
console.log(`rounds where the builds drew different tokens: ${mismatches}`);
