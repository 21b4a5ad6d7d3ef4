import { type FileHandle, open } from 'node:fs/promises';

/** One line of a file with its byte range (`end` is just past the newline). */
export interface FileLine {
  /** The line's text without its `\n` or `\r\n`. */
  text: string;
  /** Byte offset of the first byte of the line. */
  start: number;
  /** Byte offset just after the line's newline (or end of file). */
  end: number;
}

const chunkBytes = 1 << 16;

/**
 * Reads a file line by line through a small buffer, tracking byte offsets so a reader can be
 * re-opened at the exact same position later. Memory use is bounded by the longest line, never the
 * file size. Splitting on the byte 0x0A is safe in UTF-8 (it never occurs inside a multi-byte char).
 */
export class LineReader {
  private buffer = new Uint8Array(0);
  private bufferStart = 0;
  private position = 0;
  private readonly decoder = new TextDecoder('utf-8');

  private constructor(
    private readonly handle: FileHandle,
    /** Path of the file, for error messages. */
    readonly path: string,
    /** File size in bytes when it was opened. */
    readonly size: number,
  ) {}

  /** Opens `path` positioned at byte `offset` (which must be the start of a line). */
  static async open(path: string, offset = 0): Promise<LineReader> {
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    const reader = new LineReader(handle, path, size);
    reader.seek(offset);
    return reader;
  }

  /** Byte offset of the next line to be returned. */
  get offset(): number {
    return this.position;
  }

  /** Moves to byte `offset`, which must be the start of a line. */
  seek(offset: number): void {
    if (offset < 0 || offset > this.size) {
      throw new Error(`LineReader.seek: offset ${offset} is outside ${this.path} (${this.size} bytes)`);
    }
    this.position = offset;
    this.buffer = new Uint8Array(0);
    this.bufferStart = offset;
  }

  /** The next line, or null at end of file. */
  async readLine(): Promise<FileLine | null> {
    if (this.position >= this.size) return null;
    for (;;) {
      const from = this.position - this.bufferStart;
      const newline = this.buffer.indexOf(0x0a, from);
      const atEof = this.bufferStart + this.buffer.length >= this.size;
      if (newline >= 0 || atEof) {
        const stop = newline >= 0 ? newline : this.buffer.length;
        let textEnd = stop;
        if (textEnd > from && this.buffer[textEnd - 1] === 0x0d) textEnd--;
        const text = this.decoder.decode(this.buffer.subarray(from, textEnd));
        const start = this.position;
        this.position = this.bufferStart + (newline >= 0 ? newline + 1 : stop);
        return { text, start, end: this.position };
      }
      await this.fill();
    }
  }

  /** Appends the next chunk of the file to the buffer, dropping bytes already returned. */
  private async fill(): Promise<void> {
    const keepFrom = this.position - this.bufferStart;
    const kept = this.buffer.subarray(keepFrom);
    const readAt = this.bufferStart + this.buffer.length;
    const next = new Uint8Array(kept.length + chunkBytes);
    next.set(kept);
    const { bytesRead } = await this.handle.read(next, kept.length, chunkBytes, readAt);
    this.buffer = next.subarray(0, kept.length + bytesRead);
    this.bufferStart = this.position;
    if (bytesRead === 0)
      throw new Error(`LineReader: ${this.path} shrank while being read (expected ${this.size} bytes)`);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}
