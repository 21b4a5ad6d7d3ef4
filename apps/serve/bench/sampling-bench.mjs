// Cost of choosing the next tokens of a decode batch, two ways, on the current backend: `sampleTokens` on the device
// reading back only ids (what the server does now), against reading back the [rows, 32000] logits and drawing with
// the host Sampler (what it did before). Logits are random but peaked like a model's. Same process, back to back.
//
//   ANDES_BACKEND=cpu node bench/sampling-bench.mjs      # after npm run build; ANDES_BACKEND=webgpu for the GPU
//
// Environment: SAMPLING_ROWS (default 1,16,64), SAMPLING_REPEATS (default 20).
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_SAMPLING, Sampler } from '@andes/nn';
import { getBackend, initBackend, SeededRandom, sampleTokens, sync, tensor } from '@andes/tensor';

const ROWS = (process.env.SAMPLING_ROWS ?? '1,16,64').split(',').map(Number);
const REPEATS = Number(process.env.SAMPLING_REPEATS ?? 20);
const V = 32000;
const SETTINGS = {
  greedy: { temperature: 0 },
  'temperature 0.8': { temperature: 0.8 },
  'top-k 40, top-p 0.95': { temperature: 0.8, topK: 40, topP: 0.95 },
  'top-p 0.9': { temperature: 1, topP: 0.9 },
};

await initBackend();
console.log(`# sampling: device ids vs logits read back + host Sampler; backend ${getBackend().name}, vocab ${V}`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`,
);
const rng = new SeededRandom(1);
for (const rows of ROWS) {
  const data = Float32Array.from({ length: rows * V }, (_, i) => (i % V < 50 ? 6 : 0) + rng.next() * 8 - 4);
  const logits = tensor(data, [rows, V]);
  for (const [name, over] of Object.entries(SETTINGS)) {
    const samplers = Array.from({ length: rows }, (_, r) => new Sampler({ ...DEFAULT_SAMPLING, seed: r, ...over }));
    const device = async () => {
      const { ids } = sampleTokens(
        logits,
        samplers.map((s) => s.draw()),
      );
      await ids.data();
      ids.dispose();
    };
    const host = async () => {
      const all = await logits.data();
      for (let r = 0; r < rows; r++) samplers[r].sample(all.subarray(r * V, (r + 1) * V));
    };
    const time = async (fn) => {
      await fn(); // warm-up: pipelines compiled
      await sync();
      const t0 = performance.now();
      for (let i = 0; i < REPEATS; i++) await fn();
      return (performance.now() - t0) / REPEATS;
    };
    const d = await time(device);
    const h = await time(host);
    console.log(
      `${rows} rows, ${name}: device ${d.toFixed(2)} ms, read back + host ${h.toFixed(2)} ms (device/host ${(d / h).toFixed(2)}×)`,
    );
  }
  logits.dispose();
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
process.exit(0);
