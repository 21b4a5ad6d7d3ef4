import { SeededRandom } from '@andes/tensor';
import type { MixtureConfig } from './mixture-config.js';
import { type DocumentSource, openSource, type SourceDocument, type SourceState } from './sources.js';
import { isValidationDocument } from './validation-split.js';

/** Which documents a stream yields: the training split or the held-out validation split. */
export type Split = 'train' | 'validation';

/** Position of a {@link DocumentStream}, JSON-able: the sampler's RNG and every source's position. */
export type DocumentStreamState = {
  /** State of the RNG that picks a source for each document. */
  rng: number;
  /** Positions of the sources, in mixture order. */
  sources: SourceState[];
  /** Which sources have reached their epoch limit. */
  exhausted: boolean[];
};

/** Options of {@link DocumentStream.open}. */
export interface DocumentStreamOptions {
  /** Directory that relative source paths are resolved against; default `process.cwd()`. */
  baseDir?: string;
  /** Seed of the source-sampling RNG. */
  seed: number;
  /** Which split to yield. */
  split: Split;
  /** Fraction of documents (by FNV-1a hash of their text) held out for validation, in [0, 1). */
  valFraction: number;
  /** Start from this position instead of the beginning. */
  state?: DocumentStreamState;
}

// A validation split of a large unbounded source could skip many documents in a row; far more than
// this means the fraction is (nearly) zero and the stream would spin forever.
const maxConsecutiveSkips = 1_000_000;

/**
 * Draws documents from a mixture: for each document a source is chosen at random in proportion to the
 * weights of the sources not yet exhausted, and documents of the other split are skipped. Ends (null)
 * when every source is exhausted.
 */
export class DocumentStream {
  private constructor(
    private readonly sources: DocumentSource[],
    private readonly weights: number[],
    private readonly rng: SeededRandom,
    private readonly exhausted: boolean[],
    private readonly options: DocumentStreamOptions,
  ) {}

  /** Opens every source of `mixture` (a validated config) and positions the stream. */
  static async open(mixture: MixtureConfig, options: DocumentStreamOptions): Promise<DocumentStream> {
    if (!(options.valFraction >= 0 && options.valFraction < 1)) {
      throw new Error(`DocumentStream: valFraction must be in [0, 1), got ${options.valFraction}`);
    }
    if (options.split === 'validation' && options.valFraction === 0) {
      throw new Error('DocumentStream: the validation split is empty when valFraction is 0');
    }
    // Browsers have no process (nor relative paths to resolve: only synthetic sources open there).
    const baseDir = options.baseDir ?? (typeof process === 'undefined' ? '.' : process.cwd());
    const sources = await Promise.all(mixture.sources.map((s) => openSource(s, baseDir)));
    const stream = new DocumentStream(
      sources,
      mixture.sources.map((s) => s.weight),
      new SeededRandom(options.seed),
      sources.map(() => false),
      options,
    );
    if (options.state) await stream.restore(options.state);
    return stream;
  }

  private async restore(state: DocumentStreamState): Promise<void> {
    if (state.sources.length !== this.sources.length || state.exhausted.length !== this.sources.length) {
      throw new Error(
        `DocumentStream: state has ${state.sources.length} sources but the mixture has ${this.sources.length}`,
      );
    }
    this.rng.state = state.rng >>> 0;
    await Promise.all(this.sources.map((s, i) => s.restore(state.sources[i]!)));
    state.exhausted.forEach((x, i) => {
      this.exhausted[i] = x;
    });
  }

  /** The current position (a fresh copy). */
  state(): DocumentStreamState {
    return { rng: this.rng.state, sources: this.sources.map((s) => s.state()), exhausted: [...this.exhausted] };
  }

  /** The next document of the chosen split (text, or token ids from a shard source), or null when all sources are exhausted. */
  async next(): Promise<SourceDocument | null> {
    let skipped = 0;
    // Where each source stood when skipping began (taken lazily: most calls skip nothing).
    let startEpochs: number[] | undefined;
    for (;;) {
      const i = this.pickSource();
      if (i < 0) return null;
      const doc = await this.sources[i]!.next();
      if (doc === null) {
        this.exhausted[i] = true;
        continue;
      }
      const isVal = this.options.valFraction > 0 && isValidationDocument(doc, this.options.valFraction);
      if (isVal === (this.options.split === 'validation')) return doc;
      startEpochs ??= this.sources.map((s) => s.state().epoch);
      if (++skipped > maxConsecutiveSkips) {
        throw new Error(`DocumentStream: no ${this.options.split} document in ${maxConsecutiveSkips} documents`);
      }
      // Two epoch turns of every remaining source mean a whole pass over each without a document of this split:
      // none will ever come, so say so now instead of after a million skips. (Synthetic sources never turn.)
      if (this.sources.every((s, j) => this.exhausted[j] || s.state().epoch >= startEpochs![j]! + 2)) {
        throw new Error(
          `DocumentStream: no ${this.options.split} document in a whole pass over the data ` +
            `(${skipped} documents skipped; the validation fraction is ${this.options.valFraction})`,
        );
      }
    }
  }

  private pickSource(): number {
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) if (!this.exhausted[i]) total += this.weights[i]!;
    if (total === 0) return -1;
    let r = this.rng.next() * total;
    let last = -1;
    for (let i = 0; i < this.weights.length; i++) {
      if (this.exhausted[i]) continue;
      last = i;
      r -= this.weights[i]!;
      if (r < 0) return i;
    }
    return last;
  }

  /** Closes every source. */
  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
