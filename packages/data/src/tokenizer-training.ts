import { mixSeed } from '@andes/tensor';
import { type SentencePieceTokenizer, trainBpe } from '@andes/tokenizer';
import { DocumentStream } from './document-stream.js';
import { type MixtureConfig, parseMixtureConfig } from './mixture-config.js';

/** Options of {@link collectTrainingText}. */
export interface CollectTextOptions {
  /** Stop after this many UTF-8 bytes of text; default 8 MiB. */
  maxBytes?: number;
  /** Directory relative source paths are resolved against. */
  baseDir?: string;
  /** Seed of source sampling (use the loader's seed to see the same documents); default 0. */
  seed?: number;
  /** Fraction held out for validation (those documents are never collected); default 0.01. */
  valFraction?: number;
}

/**
 * The first `maxBytes` of training-split text of a mixture, as documents, sampled by weight like the
 * loader samples them — what a tokenizer should be trained on. Validation documents are excluded so
 * the tokenizer never sees held-out text, and file sources are read at most once (fewer bytes than
 * `maxBytes` when the files are small).
 */
export async function collectTrainingText(mixture: MixtureConfig, options: CollectTextOptions = {}): Promise<string[]> {
  const maxBytes = options.maxBytes ?? 8 << 20;
  const stream = await DocumentStream.open(onePass(parseMixtureConfig(mixture)), {
    baseDir: options.baseDir,
    seed: mixSeed(options.seed ?? 0, 1),
    split: 'train',
    valFraction: options.valFraction ?? 0.01,
  });
  const texts: string[] = [];
  let bytes = 0;
  try {
    while (bytes < maxBytes) {
      const doc = await stream.next();
      if (doc === null) break;
      if (typeof doc !== 'string') {
        throw new Error('collectTrainingText: the mixture has pre-tokenized shards; a tokenizer is trained on text');
      }
      const size = Buffer.byteLength(doc, 'utf8');
      texts.push(size + bytes > maxBytes ? doc.slice(0, maxBytes - bytes) : doc);
      bytes += size;
    }
  } finally {
    await stream.close();
  }
  return texts;
}

/**
 * The mixture with every file source read at most once: a repeated file adds no new text for a tokenizer, and a
 * small file looped until `maxBytes` only costs time (a two-paragraph file took minutes to fill 1 MB).
 */
function onePass(mixture: MixtureConfig): MixtureConfig {
  return {
    sources: mixture.sources.map((s) => (s.type === 'synthetic' ? s : { ...s, epochs: Math.min(s.epochs ?? 1, 1) })),
  };
}

/** Settings passed to `@andes/tokenizer`'s `trainBpe`. */
export interface TokenizerTrainingOptions extends CollectTextOptions {
  /** Vocabulary size including special and byte-fallback tokens. */
  vocabSize: number;
  /** Encode unknown characters as byte tokens (LLaMA does); default true. */
  byteFallback?: boolean;
  /** Split numbers into single digits (LLaMA does); default true. */
  splitDigits?: boolean;
  /** Extra special tokens. */
  specialTokens?: string[];
}

/**
 * Trains a BPE tokenizer (with `@andes/tokenizer`'s `trainBpe`) on the first `maxBytes` of a mixture's
 * training text: the pipeline's first step when no tokenizer is given.
 *
 * @returns the trained SentencePiece tokenizer (`save(path)`, `toModelProto()`); keep it with the run:
 *   a loader state is only valid with the tokenizer it was made with.
 */
export async function trainTokenizerOnMixture(
  mixture: MixtureConfig,
  options: TokenizerTrainingOptions,
): Promise<SentencePieceTokenizer> {
  const texts = await collectTrainingText(mixture, options);
  if (texts.length === 0) throw new Error('trainTokenizerOnMixture: the mixture has no training text');
  return trainBpe(texts, {
    vocabSize: options.vocabSize,
    byteFallback: options.byteFallback ?? true,
    splitDigits: options.splitDigits ?? true,
    specialTokens: options.specialTokens ?? [],
  });
}
