// Encoding and training speed: Andes vs google's sentencepiece (WASM) vs llama-tokenizer-js on the
// same generated text, plus the growth of no-space strings and an 8k-vocabulary training run.
// Run: npm run bench -w @andes/tokenizer
import llamaTokenizerJs from 'llama-tokenizer-js';
import { loadTokenizer } from '../src/load.js';
import { trainBpe } from '../src/train-bpe.js';
import { generateCorpus, generateText, generateZipfText, rng } from '../test/corpus.js';
import { hasLlama2Model, llama2ModelPath, loadReference } from '../test/reference.js';

const MB = 1e6;
const bytesOf = (xs: string[]) => xs.reduce((s, x) => s + Buffer.byteLength(x), 0);

function time(fn: () => void, repeats = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

if (!hasLlama2Model) {
  console.log(`SKIP: ${llama2ModelPath} not found`);
  process.exit(0);
}
const andes = await loadTokenizer(llama2ModelPath);
const sp = await loadReference(llama2ModelPath);

// ~5 MB of mixed text as documents of about 1–4 KB, encoded one by one by every tokenizer.
const docs: string[] = [];
{
  const text = generateText(2026, 5 * MB);
  const r = rng(1);
  for (let i = 0; i < text.length; ) {
    let n = 1000 + Math.floor(r() * 3000);
    // Cut between code points: a lone surrogate would be encoded differently by the WASM wrapper.
    const last = text.charCodeAt(i + n - 1);
    if (last >= 0xd800 && last <= 0xdbff) n++;
    docs.push(text.slice(i, i + n));
    i += n;
  }
}
const size = bytesOf(docs) / MB;
let same = 0;
for (const d of docs) if (JSON.stringify(andes.encode(d)) === JSON.stringify(sp.encodeIds(d))) same++;
console.log(
  `corpus: ${size.toFixed(2)} MB in ${docs.length} documents; ids equal to sentencepiece on ${same}/${docs.length}`,
);

const each = (f: (d: string) => unknown) => () => {
  for (const d of docs) f(d);
};
const tAndes = time(each((d) => andes.encode(d)));
const tSp = time(
  each((d) => sp.encodeIds(d)),
  1,
);
const tLtj = time(
  each((d) => llamaTokenizerJs.encode(d, false, true)),
  1,
);
const rows = [
  ['Andes', tAndes],
  ['sentencepiece (WASM)', tSp],
  ['llama-tokenizer-js', tLtj],
] as const;
console.log('\n| tokenizer | MB/s | Andes speed-up |\n| --- | ---: | ---: |');
for (const [name, t] of rows) console.log(`| ${name} | ${(size / t).toFixed(2)} | ${(t / tAndes).toFixed(1)}× |`);

// Growth on strings without spaces (one chunk, the heap path) vs prose of the same size.
console.log('\n| input | Andes ms | sentencepiece ms |\n| --- | ---: | ---: |');
const r = rng(9);
const letters = 'etaoinshrdlucmfwypvbgkjqxz';
let noSpace = '';
while (noSpace.length < MB) noSpace += letters[Math.floor(-Math.log(1 - r()) * 5) % 26];
for (const f of [0.25, 0.5, 1]) {
  const s = noSpace.slice(0, f * MB);
  const ta = time(() => andes.encode(s), 2);
  const ts = time(() => sp.encodeIds(s), 1);
  console.log(`| ${f} MB, no spaces | ${(ta * 1000).toFixed(0)} | ${(ts * 1000).toFixed(0)} |`);
}
// Prose hits the per-chunk cache; random-letter words of 2–12 letters mostly miss it.
const prose = generateZipfText(5, MB).join(' ').slice(0, MB);
let words = '';
while (words.length < MB) words += ` ${noSpace.slice(Math.floor(r() * 900_000)).slice(0, 2 + Math.floor(r() * 11))}`;
words = words.slice(0, MB);
for (const [name, s] of [
  ['1 MB prose (cached words)', prose],
  ['1 MB random words (cache misses)', words],
] as const) {
  console.log(
    `| ${name} | ${(time(() => andes.encode(s), 2) * 1000).toFixed(0)} | ${(time(() => sp.encodeIds(s), 1) * 1000).toFixed(0)} |`,
  );
}

// Training: 8k vocabulary on 10 MB (Zipf pseudo-words plus the mixed generated documents).
const trainCorpus = [...generateZipfText(11, 8 * MB), ...generateCorpus(12, 2500)];
const trainMb = bytesOf(trainCorpus) / MB;
const t0 = performance.now();
const trained = await trainBpe(trainCorpus, { vocabSize: 8192, byteFallback: true, splitDigits: true });
const trainS = (performance.now() - t0) / 1000;
console.log(`\ntraining: ${trainMb.toFixed(1)} MB → ${trained.vocabSize} pieces in ${trainS.toFixed(1)} s`);
