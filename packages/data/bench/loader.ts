/**
 * Throughput of the data pipeline on the synthetic story corpus: story generation, and loader batches with the
 * LLaMA 2 SentencePiece tokenizer (when the fixture is present) or a byte tokenizer. Build and run:
 *   npx tsc -b packages/data && npx tsc -p packages/data/bench/tsconfig.json && node packages/data/bench/dist/loader.js
 * Env: BATCH (16), SEQ (128), BATCHES (200).
 */
import { existsSync } from 'node:fs';
import { createLoader, type DataTokenizer, syntheticMixture, syntheticStory } from '@andes/data';
import { loadTokenizer } from '@andes/tokenizer';

const batchSize = Number(process.env.BATCH ?? 16);
const seqLen = Number(process.env.SEQ ?? 128);
const batches = Number(process.env.BATCHES ?? 200);

let t0 = performance.now();
let words = 0;
for (let i = 0; i < 5000; i++) words += syntheticStory(0, i).split(' ').length;
let ms = performance.now() - t0;
console.log(`stories: ${((5000 / ms) * 1000).toFixed(0)}/s, ${(((words / ms) * 1000) / 1e6).toFixed(2)}M words/s`);

const fixture = '../shared/fixtures/llama2-tokenizer.model';
const tokenizers: [string, DataTokenizer][] = [
  ['bytes', { encode: (t) => Array.from(new TextEncoder().encode(t), (b) => b + 3), bosId: 1, eosId: 2 }],
];
if (existsSync(fixture)) tokenizers.push(['llama2 sentencepiece', await loadTokenizer(fixture)]);

for (const [name, tokenizer] of tokenizers) {
  const loader = await createLoader({ mixture: syntheticMixture(), tokenizer, seqLen, batchSize });
  await loader.next();
  t0 = performance.now();
  for (let i = 0; i < batches; i++) await loader.next();
  ms = performance.now() - t0;
  const tokens = batches * batchSize * seqLen;
  console.log(
    `loader (${name}, ${batchSize}×${seqLen}): ${(ms / batches).toFixed(2)} ms/batch, ${(((tokens / ms) * 1000) / 1e3).toFixed(0)}k tokens/s`,
  );
  t0 = performance.now();
  await createLoader({ mixture: syntheticMixture(), tokenizer, seqLen, batchSize, resumeFrom: loader.state() }).then(
    (l) => l.next(),
  );
  console.log(`  resume + first batch: ${(performance.now() - t0).toFixed(1)} ms`);
}
