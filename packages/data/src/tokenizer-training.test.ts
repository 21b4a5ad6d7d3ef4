import { describe, expect, it } from 'vitest';
import { syntheticMixture } from './mixture-config.js';
import { isValidationDocument } from './rng.js';
import { collectTrainingText, trainTokenizerOnMixture } from './tokenizer-training.js';

const tokenizerModule = (await import('@andes/tokenizer')) as Record<string, unknown>;
const hasTrainBpe = typeof tokenizerModule.trainBpe === 'function';
if (!hasTrainBpe) console.warn('[skip] @andes/tokenizer has no trainBpe yet: tokenizer training test skipped');

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

describe.skipIf(!hasTrainBpe)('trainTokenizerOnMixture', () => {
  it('trains a tokenizer that round-trips the story corpus', async () => {
    const tok = await trainTokenizerOnMixture(syntheticMixture(1), { vocabSize: 400, maxBytes: 100_000 });
    expect(tok.vocabSize).toBe(400);
    const text = 'Once upon a time, there was a little girl named Lily.';
    expect(tok.decode(tok.encode(text))).toBe(text);
  });
});
