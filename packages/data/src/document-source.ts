// The interface every document source implements (text files, synthetic stories, token shards) and the JSON-able
// position it reports. A module of its own, below sources.ts and shard-source.ts, so that neither has to import the
// other for the types (sources.ts opens shard sources, so an import back would close a cycle).

/**
 * Position of a source, JSON-able. File sources: pass number `epoch`, file index `file`, byte `offset`
 * of the next document (compressed JSONL and Parquet: index of the next record; shards: of the next document).
 * Synthetic: the next story index in `offset`.
 */
export type SourceState = {
  /** Completed passes over the source. */
  epoch: number;
  /** Index of the current file in the source's sorted file list. */
  file: number;
  /** Byte offset of the next document in the current file (synthetic: next story index). */
  offset: number;
};

/**
 * A document as a source yields it: text, or token ids already tokenized (a pre-tokenized shard, without BOS/EOS).
 */
export type SourceDocument = string | Uint16Array | Uint32Array;

/** A stream of documents that can report and restore its position. */
export interface DocumentSource {
  /** The source's name from the mixture config. */
  readonly name: string;
  /** The next document, or null once the source's epoch limit is reached. */
  next(): Promise<SourceDocument | null>;
  /** The current position; `restore(state())` later continues from here. */
  state(): SourceState;
  /** Moves to a position previously returned by {@link DocumentSource.state}. */
  restore(state: SourceState): Promise<void>;
  /** Releases open files. */
  close(): Promise<void>;
}
