import { mixSeed, SeededRandom } from '@andes/tensor';
import { DocumentStream, type Split } from './document-stream.js';
import { type LoaderState, parseLoaderState } from './loader-state.js';
import { type MixtureConfig, parseMixtureConfig } from './mixture-config.js';
import { type DataTokenizer, SequencePacker } from './packing.js';

// LoaderState lives beside its parser in loader-state.ts (this file imports the parser, so the type there keeps the
// import one-way); re-exported so the loader's users keep one import.
export type { LoaderState } from './loader-state.js';

/** One training batch: `batchSize` rows of `seqLen` tokens; `targets` is `inputs` shifted left by one. */
export interface Batch {
  /** Input token ids, row-major `[batchSize, seqLen]`. */
  inputs: Int32Array;
  /** Next-token ids, row-major `[batchSize, seqLen]`: `targets[b, t]` follows `inputs[b, t]` in the text. */
  targets: Int32Array;
  /** Rows in the batch. */
  batchSize: number;
  /** Tokens per row. */
  seqLen: number;
}

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** Sources and weights (validated with `parseMixtureConfig`). */
  mixture: MixtureConfig;
  /** Tokenizer; train one with `trainTokenizerOnMixture` when you have none. */
  tokenizer: DataTokenizer;
  /** Tokens per row. */
  seqLen: number;
  /** Rows per batch. */
  batchSize: number;
  /** Seed of source sampling and shuffling; default 0. */
  seed?: number;
  /** `train` (default) or the held-out `validation` documents. */
  split?: Split;
  /** Fraction of documents held out for validation, chosen by FNV-1a hash of the text; default 0.01. */
  valFraction?: number;
  /**
   * Sequences shuffled together (default 256; 1 = no shuffling). The stream is cut into consecutive
   * windows of this many sequences, each permuted by an RNG seeded with (seed, window index): unlike a
   * reservoir buffer, a position is then just "window start + sequences taken", so the state stays tiny.
   */
  shuffleWindow?: number;
  /** BOS at document start (default true) and EOS after each document (default true). */
  bos?: boolean;
  /** See {@link LoaderOptions.bos}. */
  eos?: boolean;
  /** Directory relative source paths are resolved against; default `process.cwd()`. */
  baseDir?: string;
  /** Continue from a saved {@link LoaderState}. */
  resumeFrom?: LoaderState;
}

/** Resumable stream of batches; iterate with `for await` or call `next()`. */
export interface Loader extends AsyncIterable<Batch> {
  /** The next batch, or null when the data (with its epoch limits) runs out; a last partial batch is dropped. */
  next(): Promise<Batch | null>;
  /** The position after the last batch returned (a fresh object). */
  state(): LoaderState;
  /** Closes the underlying files. */
  close(): Promise<void>;
}

/**
 * Builds the read → tokenize → pack → shuffle → batch pipeline over a mixture.
 *
 * @example
 * const loader = await createLoader({ mixture: syntheticMixture(), tokenizer, seqLen: 128, batchSize: 8 });
 * const { inputs, targets } = (await loader.next())!;  // Int32Array [8 * 128] each
 * const saved = loader.state();                        // JSON-able; resumeFrom: saved continues here
 */
export async function createLoader(options: LoaderOptions): Promise<Loader> {
  const mixture = parseMixtureConfig(options.mixture);
  const seed = options.seed ?? 0;
  const split = options.split ?? 'train';
  const shuffleWindow = options.shuffleWindow ?? 256;
  const { seqLen, batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`createLoader: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(shuffleWindow) || shuffleWindow < 1) {
    throw new Error(`createLoader: shuffleWindow must be a positive integer, got ${shuffleWindow}`);
  }
  const resume = options.resumeFrom === undefined ? undefined : parseLoaderState(options.resumeFrom);
  if (resume) {
    const expected = { version: 1, seed, seqLen, batchSize, shuffleWindow, split };
    for (const [key, value] of Object.entries(expected)) {
      const saved = (resume as unknown as Record<string, unknown>)[key];
      if (saved !== value)
        throw new Error(
          `createLoader: resumeFrom.${key} is ${JSON.stringify(saved)} but the loader has ${JSON.stringify(value)}`,
        );
    }
  }
  // Sampling seed and shuffle seed are derived separately so changing one stream never shifts the other.
  const stream = await DocumentStream.open(mixture, {
    baseDir: options.baseDir,
    seed: mixSeed(seed, 1),
    split,
    valFraction: options.valFraction ?? 0.01,
    state: resume?.windowStart.document,
  });
  const packer = new SequencePacker(stream, options.tokenizer, { seqLen, bos: options.bos, eos: options.eos });
  if (resume) await packer.restore(resume.windowStart);

  let windowIndex = resume ? resume.window : 0;
  let windowStart = packer.position();
  let window: Int32Array[] | null = null;
  let taken = resume ? resume.taken : 0;
  let batches = resume ? resume.batches : 0;
  let ended = false;

  async function fillWindow(): Promise<void> {
    const rows: Int32Array[] = [];
    while (rows.length < shuffleWindow) {
      const row = await packer.next();
      if (row === null) {
        ended = true;
        break;
      }
      rows.push(row);
    }
    window = new SeededRandom(mixSeed(mixSeed(seed, 2), windowIndex)).shuffle(rows);
  }

  async function nextRow(): Promise<Int32Array | null> {
    for (;;) {
      if (window === null) await fillWindow();
      if (taken < window!.length) return window![taken++]!;
      if (ended) return null;
      windowIndex++;
      windowStart = packer.position();
      window = null;
      taken = 0;
    }
  }

  async function next(): Promise<Batch | null> {
    // Rows are taken on a copy of the position, so a batch cut short by the end of data leaves state() unchanged.
    const saved = { windowIndex, windowStart, window, taken };
    const inputs = new Int32Array(batchSize * seqLen);
    const targets = new Int32Array(batchSize * seqLen);
    for (let b = 0; b < batchSize; b++) {
      const row = await nextRow();
      if (row === null) {
        ({ windowIndex, windowStart, window, taken } = saved);
        return null;
      }
      inputs.set(row.subarray(0, seqLen), b * seqLen);
      targets.set(row.subarray(1), b * seqLen);
    }
    batches++;
    return { inputs, targets, batchSize, seqLen };
  }

  return {
    next,
    state: () => ({
      version: 1,
      seed,
      seqLen,
      batchSize,
      shuffleWindow,
      split,
      window: windowIndex,
      windowStart: structuredClone(windowStart),
      taken,
      batches,
    }),
    close: () => stream.close(),
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const batch = await next();
        if (batch === null) return;
        yield batch;
      }
    },
  };
}
