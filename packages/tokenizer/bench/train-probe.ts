import { trainBpe } from '../src/train-bpe.js';
import { generateCorpus } from '../test/corpus.js';

const docs = generateCorpus(3, 12000);
let bytes = 0;
for (const d of docs) bytes += Buffer.byteLength(d);
console.log('MB', (bytes / 1e6).toFixed(2));
const t = performance.now();
const tok = await trainBpe(docs, { vocabSize: 8192 });
console.log('train s', ((performance.now() - t) / 1000).toFixed(1), tok.vocabSize);
