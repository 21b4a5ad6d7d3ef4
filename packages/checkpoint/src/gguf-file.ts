/**
 * GGUF files (ggml's `docs/gguf.md`, versions 2 and 3, little-endian): the header — magic `GGUF`, version, tensor
 * and metadata counts, typed key/value metadata, tensor infos (name, dims innermost first, ggml type, offset) — then
 * the tensor data from the next multiple of `general.alignment` (default 32), each tensor at an aligned offset.
 * The reader reads the header and then one tensor at a time by offset; the whole file is never in memory.
 *
 * @module
 */
import { type GgmlTypeName, ggmlBlockInfo, ggmlByteSize, ggmlTypeLabel, ggmlTypeName } from '@andes/tensor';
import { ByteCursor, type GgufValue, OutOfBytesError } from './gguf-metadata.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');

/** GGUF's default data alignment in bytes. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** One tensor of a GGUF file. */
export interface GgufTensorInfo {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Row-major shape (GGUF's dims reversed: the innermost, contiguous dimension last). */
  shape: number[];
  /** ggml type id. */
  typeId: number;
  /** ggml type name when Andes handles it, else undefined. */
  type: GgmlTypeName | undefined;
  /** Byte offset from the start of the data section. */
  offset: number;
  /** Bytes of data (0 when the type is not one Andes handles). */
  byteLength: number;
}

/** The parsed header of a GGUF file. */
export interface GgufHeader {
  /** Format version (2 or 3). */
  version: number;
  /** Metadata by key, in file order. */
  metadata: Map<string, GgufValue>;
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  /** `general.alignment` or 32. */
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataOffset: number;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Parses a GGUF header from its first bytes (the whole file, or a prefix of it).
 *
 * @throws {@link OutOfBytesError} when `bytes` ends inside the header (read more and retry); Error naming the file,
 * byte offset and field for malformed headers.
 */
export function parseGgufHeader(bytes: Uint8Array, label = 'GGUF'): GgufHeader {
  const c = new ByteCursor(bytes, label);
  if (bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) !== 'GGUF') {
    throw new Error(
      `${label}: not a GGUF file (magic ${JSON.stringify(String.fromCharCode(...bytes.subarray(0, 4)))})`,
    );
  }
  c.pos = 4;
  const version = c.u32();
  if (version === 0x03000000 || version === 0x02000000) throw new Error(`${label}: big-endian GGUF is not supported`);
  if (version !== 2 && version !== 3) throw new Error(`${label}: GGUF version ${version} is not supported (2 or 3)`);
  const tensorCount = c.u64('tensor_count');
  const kvCount = c.u64('metadata_kv_count');
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const at = c.pos;
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) throw new Error(`${label}: metadata key ${JSON.stringify(key)} at byte ${at} appears twice`);
    const typeId = c.u32();
    metadata.set(key, c.value(typeId, `metadata ${JSON.stringify(key)}`));
  }
  const alignValue = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignValue !== undefined) {
    if (alignValue.type !== 'u32' || alignValue.value === 0 || alignValue.value % 8 !== 0) {
      throw new Error(`${label}: general.alignment must be a u32 multiple of 8, got ${JSON.stringify(alignValue)}`);
    }
    alignment = alignValue.value;
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    const name = c.string(`tensor #${i} name`);
    if (names.has(name)) throw new Error(`${label}: tensor ${JSON.stringify(name)} at byte ${at} appears twice`);
    names.add(name);
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) throw new Error(`${label}: tensor ${name}: ${nDims} dimensions (1 to 4 allowed)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64(`tensor ${name} dim ${d}`));
    const typeId = c.u32();
    const offset = c.u64(`tensor ${name} offset`);
    if (offset % alignment !== 0) {
      throw new Error(`${label}: tensor ${name}: offset ${offset} is not a multiple of the alignment ${alignment}`);
    }
    const type = ggmlTypeName(typeId);
    const shape = dims.reverse();
    let byteLength = 0;
    if (type !== undefined) {
      try {
        byteLength = ggmlByteSize(type, elementCount(shape));
      } catch (e) {
        throw new Error(`${label}: tensor ${name} [${shape.join(', ')}]: ${(e as Error).message}`);
      }
      if (shape.length > 1 && shape[shape.length - 1]! % ggmlBlockInfo(type).blockSize !== 0) {
        throw new Error(`${label}: tensor ${name}: rows of ${shape[shape.length - 1]} are not whole ${type} blocks`);
      }
    }
    tensors.push({ name, shape, typeId, type, offset, byteLength });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  return { version, metadata, tensors, alignment, dataOffset };
}

/**
 * Random access to a GGUF file's bytes: a Node file handle ({@link GgufFile.open}) or bytes already in memory, such as
 * a file picked in a browser ({@link GgufFile.fromBytes}).
 */
export interface GgufByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Reads up to `length` bytes at file `position` into `out` at `offset`; resolves to the bytes read (0 at the end). */
  read(out: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Releases the source. */
  close(): Promise<void>;
}

/** A source over bytes in memory. */
function bytesSource(bytes: Uint8Array): GgufByteSource {
  return {
    size: bytes.byteLength,
    read: async (out, offset, length, position) => {
      const n = Math.max(0, Math.min(length, bytes.byteLength - position));
      out.set(bytes.subarray(position, position + n), offset);
      return n;
    },
    close: async () => {},
  };
}

async function readAt(
  source: GgufByteSource,
  position: number,
  length: number,
  out = new Uint8Array(length),
): Promise<Uint8Array> {
  let done = 0;
  while (done < length) {
    const bytesRead = await source.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, done);
}

/** An open GGUF file: its header, and tensors read one at a time. Close it when done. */
export class GgufFile {
  private constructor(
    /** Path it was opened from. */
    readonly path: string,
    /** The parsed header. */
    readonly header: GgufHeader,
    private readonly source: GgufByteSource,
  ) {}

  /**
   * Opens `path` and parses its header, reading only as many bytes as the header takes (starting with 1 MiB and
   * doubling), and checks that every tensor lies inside the file.
   */
  static async open(path: string): Promise<GgufFile> {
    const handle = await (await nodeFs()).open(path, 'r');
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (e) {
      await handle.close();
      throw e;
    }
    const source: GgufByteSource = {
      size,
      read: async (out, offset, length, position) => (await handle.read(out, offset, length, position)).bytesRead,
      close: () => handle.close(),
    };
    return GgufFile.fromSource(path, source);
  }

  /** A GGUF file held in memory (e.g. picked in a browser), named `name` in errors; works without Node. */
  static fromBytes(name: string, bytes: Uint8Array): Promise<GgufFile> {
    return GgufFile.fromSource(name, bytesSource(bytes));
  }

  /** Parses the header from `source` (see {@link GgufFile.open}); the file owns the source and closes it. */
  static async fromSource(path: string, source: GgufByteSource): Promise<GgufFile> {
    try {
      const size = source.size;
      let chunk = Math.min(size, 1 << 20);
      for (;;) {
        const bytes = await readAt(source, 0, chunk);
        try {
          const header = parseGgufHeader(bytes, path);
          for (const t of header.tensors) {
            if (header.dataOffset + t.offset + t.byteLength > size) {
              throw new Error(
                `${path}: tensor ${t.name} (${ggmlTypeLabel(t.typeId)}, ${t.byteLength} bytes at ${t.offset}) runs past the end of the file (${size} bytes); the file is truncated`,
              );
            }
          }
          return new GgufFile(path, header, source);
        } catch (e) {
          if (!(e instanceof OutOfBytesError)) throw e;
          if (chunk >= size) throw new Error(`${path}: the file ends inside the GGUF header (${size} bytes)`);
          chunk = Math.min(size, chunk * 2);
        }
      }
    } catch (e) {
      await source.close();
      throw e;
    }
  }

  /** The info of tensor `name`, or undefined. */
  info(name: string): GgufTensorInfo | undefined {
    return this.header.tensors.find((t) => t.name === name);
  }

  /**
   * The raw bytes of one tensor (blocks of its ggml type). With `scratch` (at least `t.byteLength` bytes) they are
   * read into it and a view of it is returned — reusing one buffer keeps a model load from leaving a file's worth of
   * garbage behind for the GC.
   *
   * @throws Error when the tensor's type is not one Andes reads (naming it, e.g. `Q5_K`).
   */
  async tensorBytes(t: GgufTensorInfo, scratch?: Uint8Array): Promise<Uint8Array> {
    if (scratch !== undefined && scratch.byteLength < t.byteLength) {
      throw new Error(`tensorBytes ${t.name}: scratch of ${scratch.byteLength} bytes < ${t.byteLength}`);
    }
    if (t.type === undefined) {
      throw new Error(
        `${this.path}: tensor ${t.name} has ggml type ${ggmlTypeLabel(t.typeId)}, which Andes cannot read (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)`,
      );
    }
    const into = scratch?.subarray(0, t.byteLength) as Uint8Array<ArrayBuffer> | undefined;
    const bytes = await readAt(this.source, this.header.dataOffset + t.offset, t.byteLength, into);
    if (bytes.byteLength !== t.byteLength) throw new Error(`${this.path}: tensor ${t.name} is truncated`);
    return bytes;
  }

  /** Closes the file. */
  close(): Promise<void> {
    return this.source.close();
  }
}
