import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@andes/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { DocumentStream } from './document-stream.js';
import { syntheticMixture } from './mixture-config.js';
import { collectTrainingText } from './tokenizer-training.js';
import { isValidationDocument, planValidationSplit, validationKey } from './validation-split.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-data-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Random paragraphs of random words (the split is by hash, so random text exercises it honestly). */
function paragraphs(count: number, seed: number): string[] {
  const rng = new SeededRandom(seed);
  const words = ['lily', 'ball', 'red', 'ran', 'the', 'park', 'dog', 'sun', 'happy', 'tree', 'cat', 'saw'];
  return Array.from({ length: count }, () =>
    Array.from({ length: 5 + Math.floor(rng.next() * 20) }, () => words[Math.floor(rng.next() * words.length)]).join(
      ' ',
    ),
  );
}

function textFile(
  name: string,
  docs: string[],
): { sources: [{ name: string; type: 'text'; path: string; weight: number }] } {
  writeFileSync(join(dir, name), `${docs.join('\n\n')}\n`);
  return { sources: [{ name: 'text', type: 'text', path: name, weight: 1 }] };
}

/** Counts the distinct documents the split holds out, straight from the keys (the independent reference). */
function heldOut(docs: string[], fraction: number): number {
  return new Set(docs.filter((d) => validationKey(d) < fraction)).size;
}

describe('planValidationSplit', () => {
  it('adapts the fraction of a two-paragraph file so each split has one document', async () => {
    // Find two paragraphs that a 5% split leaves entirely in training (most pairs).
    let docs = paragraphs(2, 1);
    for (let s = 2; heldOut(docs, 0.05) !== 0; s++) docs = paragraphs(2, s);
    const plan = (await planValidationSplit(textFile('two.txt', docs), { baseDir: dir, valFraction: 0.05 }))!;
    expect(plan).toMatchObject({ adapted: true, documents: 2, distinct: 2, validation: 1 });
    expect(heldOut(docs, plan.valFraction)).toBe(1);
    // The stream agrees: exactly one document on each side.
    for (const split of ['train', 'validation'] as const) {
      const stream = await DocumentStream.open(textFile('two.txt', docs), {
        baseDir: dir,
        seed: 3,
        split,
        valFraction: plan.valFraction,
      });
      const seen = new Set([await stream.next(), await stream.next(), await stream.next()]);
      await stream.close();
      expect(seen.size).toBe(1);
    }
  });

  it('keeps a fraction that already splits the data, and counts copies of a document once', async () => {
    const docs = paragraphs(200, 7);
    const repeated = [...docs, ...docs];
    const plan = (await planValidationSplit(textFile('many.txt', repeated), { baseDir: dir, valFraction: 0.1 }))!;
    expect(plan.adapted).toBe(false);
    expect(plan.valFraction).toBe(0.1);
    expect(plan.documents).toBe(400);
    expect(plan.distinct).toBe(new Set(docs).size);
    expect(plan.validation).toBe(heldOut(docs, 0.1));
  });

  it('never holds out everything: a fraction of 0.99 on three documents keeps two for training', async () => {
    const docs = paragraphs(3, 11);
    const plan = (await planValidationSplit(textFile('three.txt', docs), { baseDir: dir, valFraction: 0.99 }))!;
    expect(plan.validation).toBeLessThanOrEqual(2);
    expect(heldOut(docs, plan.valFraction)).toBe(plan.validation);
    expect(heldOut(docs, plan.valFraction)).toBeGreaterThanOrEqual(1);
  });

  it('refuses data that cannot be split, and leaves unbounded or large corpora alone', async () => {
    await expect(planValidationSplit(textFile('empty.txt', []), { baseDir: dir, valFraction: 0.05 })).rejects.toThrow(
      'the data has no text',
    );
    const one = paragraphs(1, 5)[0]!;
    await expect(
      planValidationSplit(textFile('same.txt', [one, one, one]), { baseDir: dir, valFraction: 0.05 }),
    ).rejects.toThrow(/only one distinct document/);
    expect(await planValidationSplit(syntheticMixture(1), { valFraction: 0.05 })).toBeNull();
    const many = textFile('large.txt', paragraphs(50, 9));
    expect(await planValidationSplit(many, { baseDir: dir, valFraction: 0.05, maxDocuments: 10 })).toBeNull();
  });
});

describe('small files', () => {
  it('a stream with no document of its split fails after one pass instead of a million documents', async () => {
    let docs = paragraphs(2, 1);
    for (let s = 2; heldOut(docs, 0.05) !== 0; s++) docs = paragraphs(2, s);
    const stream = await DocumentStream.open(textFile('none.txt', docs), {
      baseDir: dir,
      seed: 1,
      split: 'validation',
      valFraction: 0.05,
    });
    const started = performance.now();
    await expect(stream.next()).rejects.toThrow(/no validation document in a whole pass over the data/);
    expect(performance.now() - started).toBeLessThan(2000);
    await stream.close();
  });

  it('tokenizer text reads a small file once instead of looping it up to maxBytes', async () => {
    const docs = paragraphs(30, 13);
    const texts = await collectTrainingText(textFile('once.txt', docs), {
      baseDir: dir,
      maxBytes: 1_000_000,
      valFraction: 0.2,
    });
    expect(texts.sort()).toEqual(docs.filter((d) => validationKey(d) >= 0.2).sort());
  });
});

describe('isValidationDocument', () => {
  it('puts about valFraction of documents in the validation split', () => {
    let val = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) if (isValidationDocument(`document number ${i}`, 0.1)) val++;
    // Binomial(20000, 0.1): sd ≈ 42; 6 sd bounds.
    expect(Math.abs(val - 2000)).toBeLessThan(260);
  });
});
