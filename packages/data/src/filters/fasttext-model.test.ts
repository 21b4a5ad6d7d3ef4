import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { FastTextModel, fastTextHash, loadFastTextModel } from './fasttext-model.js';
import { createFilter } from './filter-registry.js';

// The peer: Debian's `fasttext` 0.9.2 CLI (installed by .ci/install-system.sh) trains the models and predicts.
const hasFastText = spawnSync('fasttext', [], { encoding: 'utf8' }).error === undefined;
const dir = mkdtempSync(join(tmpdir(), 'andes-fasttext-'));
const rng = new SeededRandom(11);
const vocab: Record<string, string[]> = {
  en: 'the and of to is in that it was for with as on are this be by cat dog house river tree'.split(' '),
  de: 'der die und das ist nicht ein eine zu den mit sich auch auf dem katze hund haus fluss baum über'.split(' '),
  fr: 'le la les et des est une un du que pour dans pas qui sur chat chien maison rivière arbre été'.split(' '),
};
const langs = Object.keys(vocab);
const line = (lang: string) =>
  Array.from({ length: 3 + rng.int(10) }, () =>
    rng.pick(rng.chance(0.7) ? vocab[lang]! : vocab[rng.pick(langs)]!),
  ).join(' ');
const train = join(dir, 'train.txt');
writeFileSync(
  train,
  `${Array.from({ length: 3000 }, () => {
    const l = rng.pick(langs);
    return `__label__${l} ${line(l)}`;
  }).join('\n')}\n`,
);
const tests = [
  ...Array.from({ length: 12 }, () => line(rng.pick(langs))),
  'the cat is in the house',
  'zzz unknown wörds only',
  'été über',
];
writeFileSync(join(dir, 'test.txt'), `${tests.join('\n')}\n`);

function fasttext(...args: string[]): string {
  const r = spawnSync('fasttext', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fasttext ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `fasttext predict-prob` output: per line, [label, probability] pairs. */
function peerPredictions(model: string): [string, number][][] {
  return fasttext('predict-prob', model, 'test.txt', '3')
    .trim()
    .split('\n')
    .map((l) => {
      const parts = l.trim().split(' ');
      return Array.from({ length: parts.length / 2 }, (_, i) => [parts[2 * i]!.slice(9), Number(parts[2 * i + 1])]);
    });
}

async function expectSameAsPeer(file: string): Promise<FastTextModel> {
  const model = await loadFastTextModel(join(dir, file));
  const peer = peerPredictions(file);
  tests.forEach((text, i) => {
    const ours = model.predict(text, 3);
    expect(ours.map((p) => p.label)).toEqual(peer[i]!.map((p) => p[0]));
    for (const [j, p] of ours.entries()) expect(p.probability).toBeCloseTo(peer[i]![j]![1], 5);
  });
  return model;
}

const common = [
  '-input',
  'train.txt',
  '-dim',
  '8',
  '-epoch',
  '3',
  '-minn',
  '2',
  '-maxn',
  '4',
  '-bucket',
  '2000',
  '-thread',
  '1',
  '-verbose',
  '0',
];

describe.skipIf(!hasFastText)('fastText models, checked against the fasttext 0.9.2 CLI', () => {
  it('predicts as predict-prob does: softmax loss, word bigrams, character n-grams', async () => {
    fasttext('supervised', ...common, '-output', 'softmax', '-loss', 'softmax', '-wordNgrams', '2');
    const model = await expectSameAsPeer('softmax.bin');
    expect(model.labels.sort()).toEqual(['de', 'en', 'fr']);
  });

  it('predicts with a hierarchical softmax (as lid.176 uses) and word trigrams', async () => {
    fasttext('supervised', ...common, '-output', 'hs', '-loss', 'hs', '-wordNgrams', '3');
    await expectSameAsPeer('hs.bin');
  });

  it('predicts from a quantized, pruned .ftz model', async () => {
    fasttext('supervised', ...common, '-output', 'q', '-loss', 'softmax', '-wordNgrams', '2');
    fasttext(
      'quantize',
      '-input',
      'train.txt',
      '-output',
      'q',
      '-qnorm',
      '-retrain',
      '-cutoff',
      '400',
      '-epoch',
      '1',
      '-thread',
      '1',
    );
    await expectSameAsPeer('q.ftz');
  });

  it('plugs into the language filter by file name', () => {
    const filter = createFilter({ name: 'language', keep: ['de'], minScore: 0.4, model: join(dir, 'softmax.bin') });
    expect(filter.apply({ text: 'der hund ist nicht auf dem haus und die katze auch', meta: {} })).not.toBeNull();
    expect(filter.apply({ text: 'the dog is not in the house and the cat is with it', meta: {} })).toBeNull();
  });
});

describe('fastText format errors and hashing', () => {
  it('hashes bytes as signed chars (FNV-1a)', () => {
    // Reference values computed by hand from the definition: h = (h ^ int8(byte)) * 16777619 mod 2^32.
    let h = 2166136261;
    for (const b of [0x63, 0xc3, 0xa9]) h = Math.imul((h ^ ((b << 24) >> 24)) >>> 0, 16777619) >>> 0;
    expect(fastTextHash(Buffer.from('cé'))).toBe(h);
    expect(fastTextHash(Buffer.from('a'))).toBe(Math.imul(2166136261 ^ 0x61, 16777619) >>> 0);
  });

  it('names the file and problem', () => {
    expect(() => FastTextModel.fromBytes(new Uint8Array(8), 'x.bin')).toThrow(/x\.bin: not a fastText model \(magic 0/);
    const truncated = new Uint8Array(12);
    new DataView(truncated.buffer).setInt32(0, 793712314, true);
    new DataView(truncated.buffer).setInt32(4, 12, true);
    expect(() => FastTextModel.fromBytes(truncated, 'y.bin')).toThrow(
      /y\.bin: truncated fastText model \(reading args\[1\] at byte 12\)/,
    );
  });
});
