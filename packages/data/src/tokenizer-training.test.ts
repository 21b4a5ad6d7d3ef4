import { describe, expect, it } from 'vitest';
import { createLoader } from './loader.js';
import { syntheticMixture } from './mixture-config.js';
import { syntheticStory } from './synthetic-stories.js';
import { collectTrainingText, trainTokenizerOnMixture } from './tokenizer-training.js';
import { unigramCrossEntropy } from './unigram.js';
import { isValidationDocument } from './validation-split.js';

describe('collectTrainingText', () => {
  it('takes the first maxBytes of training documents, never validation ones', async () => {
    const texts = await collectTrainingText(syntheticMixture(3), { maxBytes: 20000, valFraction: 0.2 });
    const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
    expect(bytes).toBeLessThanOrEqual(20000);
    expect(bytes).toBeGreaterThan(19000);
    // Every whole document is a training document (the last may be cut at maxBytes).
    expect(texts.slice(0, -1).filter((t) => isValidationDocument(t, 0.2))).toEqual([]);
  });
});

describe('trainTokenizerOnMixture', () => {
  it('trains a tokenizer on the story corpus that round-trips text and feeds the loader', async () => {
    const tok = await trainTokenizerOnMixture(syntheticMixture(1), { vocabSize: 1024, maxBytes: 300_000 });
    expect(tok.vocabSize).toBe(1024);
    const text = syntheticStory(1, 123456);
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    // The closed vocabulary makes most words single tokens: far fewer tokens than words + spaces.
    expect(ids.length).toBeLessThan(text.split(' ').length * 1.5);
    const loader = await createLoader({ mixture: syntheticMixture(1), tokenizer: tok, seqLen: 64, batchSize: 4 });
    const batch = (await loader.next())!;
    // Documents are packed as BOS … EOS: every BOS inside a row follows an EOS.
    const bosAt = [...batch.inputs.keys()].filter((i) => i % 64 > 0 && batch.inputs[i] === tok.bosId);
    expect(bosAt.length).toBeGreaterThan(0);
    for (const i of bosAt) expect(batch.inputs[i - 1]).toBe(tok.eosId);
    expect(Math.max(...batch.inputs)).toBeLessThan(1024);
    expect(unigramCrossEntropy([batch.targets])).toBeGreaterThan(3);
  });
});
