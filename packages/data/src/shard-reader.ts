import { type FileHandle, open } from 'node:fs/promises';
import { decodeShardHeader, dtypeBytes, SHARD_HEADER_BYTES, type ShardHeader } from './shard-format.js';

/**
 * Random access to the documents of one shard. Opening reads the header and the document index (8 bytes per
 * document); tokens are read per document, so memory does not grow with the shard.
 */
export class ShardReader {
  private constructor(
    /** The shard file. */
    readonly path: string,
    private readonly handle: FileHandle,
    /** The parsed header. */
    readonly header: ShardHeader,
    private readonly starts: Float64Array,
  ) {}

  /** Opens and validates a shard; errors name the file and what is wrong. */
  static async open(path: string): Promise<ShardReader> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const head = new Uint8Array(SHARD_HEADER_BYTES);
      await handle.read(head, 0, Math.min(SHARD_HEADER_BYTES, size), 0);
      const header = decodeShardHeader(head, size, path);
      const raw = new Uint8Array(8 * (header.documentCount + 1));
      await handle.read(raw, 0, raw.length, header.indexOffset);
      const index = new BigUint64Array(raw.buffer);
      const starts = new Float64Array(index.length);
      for (let i = 0; i < index.length; i++) {
        starts[i] = Number(index[i]!);
        if (starts[i]! > header.tokenCount || (i > 0 && starts[i]! < starts[i - 1]!)) {
          throw new Error(`${path}: document index entry ${i} (${starts[i]}) is out of order or past the tokens`);
        }
      }
      if (starts[0] !== 0 || starts[header.documentCount] !== header.tokenCount) {
        throw new Error(`${path}: document index must start at 0 and end at the token count ${header.tokenCount}`);
      }
      return new ShardReader(path, handle, header, starts);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Documents in the shard. */
  get documentCount(): number {
    return this.header.documentCount;
  }

  /** Token offset of document `i`'s start (`i = documentCount` gives the token count). */
  documentStart(i: number): number {
    return this.starts[i]!;
  }

  /** Token ids of document `i` (uint16 or uint32 as stored). */
  async readDocument(i: number): Promise<Uint16Array | Uint32Array> {
    if (!(i >= 0 && i < this.header.documentCount)) {
      throw new Error(`${this.path}: document ${i} is outside the shard's ${this.header.documentCount} documents`);
    }
    const b = dtypeBytes(this.header.dtype);
    const start = this.starts[i]!;
    const count = this.starts[i + 1]! - start;
    const bytes = new Uint8Array(count * b);
    if (count > 0) await this.handle.read(bytes, 0, bytes.length, this.header.tokensOffset + start * b);
    // The platforms Node runs on are little-endian, like the file, so the bytes are the typed array.
    return b === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}
