import type { DocumentSource, SourceState } from './document-source.js';
import { ShardReader } from './shard-reader.js';

/** Options of {@link ShardSource.open}. */
export interface ShardSourceOptions {
  /** Source name, for errors. */
  name: string;
  /** Shard files in reading order. */
  files: string[];
  /** Pass limit (may be fractional: the last pass stops after that fraction of the tokens); unlimited when undefined. */
  epochs?: number;
}

/**
 * Pre-tokenized documents from shards, as a mixture source: same sampling, epochs and resume as text sources, but
 * documents are token ids, so the loader skips tokenizing. Position: `file` = shard index, `offset` = next document.
 */
export class ShardSource implements DocumentSource {
  readonly name: string;
  private reader: ShardReader | null = null;
  private pos: SourceState = { epoch: 0, file: 0, offset: 0 };

  private constructor(
    private readonly options: ShardSourceOptions,
    private readonly documentCounts: number[],
    private readonly cumulativeTokens: number[],
  ) {
    this.name = options.name;
  }

  /** Opens every shard once to validate it and read its counts. */
  static async open(options: ShardSourceOptions): Promise<ShardSource> {
    if (options.files.length === 0) throw new Error(`source ${options.name}: no shard files`);
    const documents: number[] = [];
    const cumulative = [0];
    for (const file of options.files) {
      const reader = await ShardReader.open(file);
      documents.push(reader.documentCount);
      cumulative.push(cumulative.at(-1)! + reader.header.tokenCount);
      await reader.close();
    }
    if (documents.every((d) => d === 0)) throw new Error(`source ${options.name}: the shards hold no documents`);
    return new ShardSource(options, documents, cumulative);
  }

  /** Tokens in one pass over the shards. */
  get tokenCount(): number {
    return this.cumulativeTokens.at(-1)!;
  }

  state(): SourceState {
    return { ...this.pos };
  }

  async restore(state: SourceState): Promise<void> {
    const n = this.options.files.length;
    if (state.file < 0 || state.file >= n || state.offset > this.documentCounts[state.file]!) {
      throw new Error(
        `source ${this.name}: state (file ${state.file}, document ${state.offset}) is outside the ${n} shards`,
      );
    }
    await this.reader?.close();
    this.reader = null;
    this.pos = { ...state };
  }

  async next(): Promise<Uint16Array | Uint32Array | null> {
    for (;;) {
      if (await this.exhausted()) {
        await this.close();
        return null;
      }
      if (this.pos.offset < this.documentCounts[this.pos.file]!) {
        this.reader ??= await ShardReader.open(this.options.files[this.pos.file]!);
        return this.reader.readDocument(this.pos.offset++);
      }
      await this.reader?.close();
      this.reader = null;
      const last = this.pos.file + 1 >= this.options.files.length;
      this.pos = { epoch: this.pos.epoch + (last ? 1 : 0), file: last ? 0 : this.pos.file + 1, offset: 0 };
    }
  }

  /** True once the pass limit is reached; a fractional last pass ends after that fraction of the tokens. */
  private async exhausted(): Promise<boolean> {
    const { epochs } = this.options;
    if (epochs === undefined) return false;
    if (this.pos.epoch >= Math.ceil(epochs)) return true;
    if (this.pos.epoch < Math.floor(epochs)) return false;
    let inFile = 0;
    if (this.pos.offset > 0) {
      this.reader ??= await ShardReader.open(this.options.files[this.pos.file]!);
      inFile = this.reader.documentStart(this.pos.offset);
    }
    return this.cumulativeTokens[this.pos.file]! + inFile >= (epochs - Math.floor(epochs)) * this.tokenCount;
  }

  async close(): Promise<void> {
    await this.reader?.close();
    this.reader = null;
  }
}
