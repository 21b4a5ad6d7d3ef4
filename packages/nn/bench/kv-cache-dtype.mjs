// Benchmark: cached greedy decode steps at a ~490-token context with a float32 vs a float16 KvCache (random model:
// hidden 256, 4 layers, 8 heads of 32). Median of 3 rounds of 24 steps, wall and CPU-ms of the process per token.
// usage: node packages/nn/bench/kv-cache-dtype.mjs [cpu|webgpu]   (after building @andes/tensor and @andes/nn)
import { setBackend } from '@andes/tensor';
import { KvCache, LlamaForCausalLM, llamaConfig } from '../dist/index.js';

const backend = process.argv[2] ?? 'cpu';
await setBackend(backend);
const config = llamaConfig({
  vocab_size: 512,
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 8,
  max_position_embeddings: 1024,
});
const model = new LlamaForCausalLM(config, { seed: 1 });
const prompt = Array.from({ length: 480 }, (_, i) => (i * 37) % 512);
const rounds = { float32: [], float16: [] };
for (let r = 0; r < 3; r++)
  for (const dtype of ['float32', 'float16']) {
    const cache = new KvCache(config, { maxBatch: 1, maxSeq: 520, dtype });
    model.prefill(prompt, { cache, slot: 0 }).dispose();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let ids = [prompt.at(-1)];
    for (let i = 0; i < 24; i++) {
      const l = model.forwardBatch(ids, { cache, slots: [0] });
      const a = l.argmax(-1);
      ids = [(await a.data())[0]];
      l.dispose();
      a.dispose();
    }
    const c = process.cpuUsage(c0);
    rounds[dtype].push([(performance.now() - t0) / 24, (c.user + c.system) / 1000 / 24]);
    cache.dispose();
  }
for (const [d, v] of Object.entries(rounds)) {
  v.sort((a, b) => a[1] - b[1]);
  console.log(
    `${backend} ${d} cache: ${v[1][0].toFixed(2)} ms/token wall, ${v[1][1].toFixed(2)} CPU-ms/token (context ~490)`,
  );
}
