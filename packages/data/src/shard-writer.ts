import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dtypeBytes, encodeShardHeader, SHARD_HEADER_BYTES, type ShardDtype, shardDtypeFor } from './shard-format.js';

/** What a finished shard holds, as the manifest records it. */
export interface WrittenShard {
  /** Path of the shard file. */
  path: string;
  /** Documents in the shard. */
  documents: number;
  /** Tokens in the shard. */
  tokens: number;
  /** File size in bytes. */
  bytes: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
}

const flushTokens = 1 << 18;

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}

/**
 * Writes one shard (layout in shard-format.ts / SHARDS.md) atomically: tokens stream to `<path>.tmp-<pid>`, the
 * document index and header are written at the end, the file is fsynced and renamed over `path`. Memory holds a
 * small token buffer plus 8 bytes per document.
 */
export class ShardWriter {
  private readonly dtype: ShardDtype;
  private buffer: Uint16Array | Uint32Array;
  private buffered = 0;
  // Tokens already in the file (may end mid-document) and tokens of completed documents.
  private flushed = 0;
  private tokens = 0;
  private readonly starts: number[] = [0];
  private readonly temp: string;

  private constructor(
    /** Final path of the shard. */
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly vocabSize: number,
  ) {
    this.dtype = shardDtypeFor(vocabSize);
    this.buffer = this.dtype === 'uint16' ? new Uint16Array(flushTokens) : new Uint32Array(flushTokens);
    this.temp = `${path}.tmp-${process.pid}`;
  }

  /** Starts a shard at `path` for token ids in `[0, vocabSize)`. */
  static async create(path: string, vocabSize: number): Promise<ShardWriter> {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`ShardWriter: bad vocabSize ${vocabSize}`);
    const handle = await open(`${path}.tmp-${process.pid}`, 'w');
    return new ShardWriter(path, handle, vocabSize);
  }

  /** Tokens written so far. */
  get tokenCount(): number {
    return this.tokens;
  }

  /** Documents written so far. */
  get documentCount(): number {
    return this.starts.length - 1;
  }

  /** Appends one document's token ids (without BOS/EOS). */
  async append(ids: ArrayLike<number>): Promise<void> {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < this.vocabSize) || !Number.isInteger(id)) {
        throw new Error(`ShardWriter ${this.path}: token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      this.buffer[this.buffered++] = id;
      if (this.buffered === this.buffer.length) await this.flush();
    }
    this.tokens += ids.length;
    this.starts.push(this.tokens);
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const bytes = new Uint8Array(this.buffer.buffer, 0, this.buffered * dtypeBytes(this.dtype));
    const at = SHARD_HEADER_BYTES + this.flushed * dtypeBytes(this.dtype);
    await this.handle.write(bytes, 0, bytes.length, at);
    this.flushed += this.buffered;
    this.buffered = 0;
  }

  /** Writes index and header, fsyncs, renames into place and returns the shard's description. */
  async finish(): Promise<WrittenShard> {
    try {
      await this.flush();
      const index = new BigUint64Array(this.starts.length);
      this.starts.forEach((s, i) => {
        index[i] = BigInt(s);
      });
      const tokensEnd = SHARD_HEADER_BYTES + this.tokens * dtypeBytes(this.dtype);
      await this.handle.write(new Uint8Array(index.buffer), 0, index.byteLength, tokensEnd);
      const header = encodeShardHeader({
        dtype: this.dtype,
        tokenCount: this.tokens,
        documentCount: this.documentCount,
        vocabSize: this.vocabSize,
      });
      await this.handle.write(header, 0, header.length, 0);
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    await rename(this.temp, this.path);
    return {
      path: this.path,
      documents: this.documentCount,
      tokens: this.tokens,
      bytes: SHARD_HEADER_BYTES + this.tokens * dtypeBytes(this.dtype) + 8 * this.starts.length,
      sha256: await sha256File(this.path),
    };
  }

  /** Drops the unfinished shard (its temporary file). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await unlink(this.temp).catch(() => {});
  }
}
