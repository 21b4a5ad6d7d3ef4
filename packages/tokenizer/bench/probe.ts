import { loadTokenizer } from '../src/load.js';
import { generateText } from '../test/corpus.js';
import { llama2ModelPath, loadReference } from '../test/reference.js';

const text = generateText(7, 2_000_000);
const tok = await loadTokenizer(llama2ModelPath);
const ref = await loadReference(llama2ModelPath);
for (let rep = 0; rep < 2; rep++) {
  let t = performance.now();
  const a = tok.encode(text);
  const ta = performance.now() - t;
  t = performance.now();
  const b = ref.encodeIds(text);
  const tb = performance.now() - t;
  console.log(
    'andes',
    (2 / (ta / 1000)).toFixed(2),
    'MB/s; ref',
    (2 / (tb / 1000)).toFixed(2),
    'MB/s',
    a.length === b.length && a.every((x, i) => x === b[i]),
  );
}
const ns = 'abcdefghij'.repeat(100_000);
for (const f of [0.25, 0.5, 1]) {
  const s = ns.slice(0, f * 1e6);
  const t = performance.now();
  tok.encode(s);
  console.log('nospace', f, (performance.now() - t).toFixed(0), 'ms');
}
