import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SeededRandom, syntheticStory } from '@andes/data';
import { writeFileAtomic } from '@andes/tensor/node';
import { trainBpe } from '@andes/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'andes-train-prepare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Stories as web pages (C4 keeps them: five-plus sentences, terminal punctuation) plus pages C4 must drop.
const rng = new SeededRandom(3);
const pages = Array.from({ length: 80 }, (_, i) =>
  i % 8 === 0 ? 'Click here {menu}' : syntheticStory(0, i).replace(/([.!?]) /g, '$1\n'),
);
for (let i = 0; i < 2; i++) {
  const lines = pages.filter((_, j) => j % 2 === i).map((text) => JSON.stringify({ text, id: rng.int(1e6) }));
  writeFileSync(join(root, `web-${i}.jsonl.gz`), gzipSync(`${lines.join('\n')}\n`));
}
const mixture = join(root, 'mix.json');
writeFileSync(
  mixture,
  JSON.stringify({
    sources: [
      {
        name: 'Wikipedia',
        type: 'jsonl',
        path: 'web-*.jsonl.gz',
        weight: 1,
        epochs: 3,
        filters: ['c4', 'exact-dedup'],
      },
    ],
  }),
);
const tokenizerPath = join(root, 'tokenizer.model');
await (await trainBpe(pages, { vocabSize: 300 })).save(tokenizerPath, writeFileAtomic);

const train = (data: string, out: string, extra: string[] = []) => [
  'pretrain',
  '--data',
  data,
  '--preset',
  'nano',
  '--model',
  'num_hidden_layers=1',
  '--batch-size',
  '2',
  '--seq-len',
  '16',
  '--steps',
  '1',
  '--eval-batches',
  '1',
  '--sample-tokens',
  '1',
  '--validation-fraction',
  '0.1',
  '--backend',
  'cpu',
  '--out-dir',
  join(root, out),
  ...extra,
];

describe('andes-train prepare, plan --manifest and pretrain --data', () => {
  it('prepares slices, merges them, plans epochs and trains from the shard directory', () => {
    const out = join(root, 'shards');
    for (const slice of ['0/2', '1/2']) {
      const r = runCli([
        'prepare',
        '--mixture',
        mixture,
        '--tokenizer',
        tokenizerPath,
        '--out',
        out,
        '--shard',
        slice,
        '--workers',
        '1',
      ]);
      expect(r.stderr).not.toMatch(/at .*\.js/);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/prepared \d+ tokens from [\d.]+ MB of text .* tokens\/s/);
      expect(r.stdout).toMatch(
        /Wikipedia: \d+\/40 docs kept \([\d.]+% removed\), \d+ tokens in 1 shard\(s\) \[c4 −\d+ docs/,
      );
    }
    const merged = runCli(['prepare', '--merge', '--out', out]);
    expect(merged.status, merged.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.sources[0].kept.documents).toBe(70);
    expect(manifest.sources[0].filterReports[0]).toMatchObject({ filter: 'c4', documentsIn: 80, documentsRemoved: 10 });

    const plan = runCli([
      'plan',
      '--params',
      '1e5',
      '--tokens',
      String(3 * manifest.sources[0].kept.tokens),
      '--manifest',
      out,
    ]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(
      /data for .* training tokens:\n\s+source\s+share\s+tokens\s+drawn\s+epochs\s+paper\n\s+Wikipedia\s+100\.0%/,
    );
    expect(plan.stdout).toMatch(
      /warning: Wikipedia repeated 2\.\d\d×, more than the paper's 2\.45 for Wikipedia|2\.45\s*$/m,
    );

    const noTokenizer = runCli(train(out, 'run-none'));
    expect(noTokenizer.status).toBe(1);
    expect(noTokenizer.stderr).toMatch(
      /andes-train: --data holds pre-tokenized shards: pass --tokenizer .*tokenizer\.model, vocabulary 300/,
    );
    expect(noTokenizer.stderr).not.toMatch(/\n\s+at /);

    const run = runCli(train(out, 'run-shards', ['--tokenizer', tokenizerPath]));
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(root, 'run-shards', 'metrics.jsonl'))).toBe(true);
  });

  it('trains straight from a compressed JSONL file', () => {
    const run = runCli(
      train(join(root, 'web-0.jsonl.gz'), 'run-gz', ['--vocab-size', '300', '--tokenizer-bytes', '20000']),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(root, 'run-gz', 'metrics.jsonl'))).toBe(true);
  });

  it('names bad prepare arguments without a stack trace', () => {
    const badSlice = runCli([
      'prepare',
      '--mixture',
      mixture,
      '--tokenizer',
      tokenizerPath,
      '--out',
      root,
      '--shard',
      '2/2',
    ]);
    expect(badSlice.status).toBe(1);
    expect(badSlice.stderr).toMatch(/andes-train: flag --shard: expected i\/N with 0 ≤ i < N/);
    const missing = runCli([
      'prepare',
      '--mixture',
      join(root, 'nope.json'),
      '--tokenizer',
      tokenizerPath,
      '--out',
      root,
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/andes-train: --mixture .*nope\.json: ENOENT/);
    const noSlices = runCli(['prepare', '--merge', '--out', join(root, 'web-0.jsonl.gz', '..')]);
    expect(noSlices.stderr).toMatch(/andes-train: .*no slice manifests/);
  });
});
