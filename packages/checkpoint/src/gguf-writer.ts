/**
 * Writes GGUF v3 files: header (metadata, tensor infos with dims innermost first and aligned offsets), then the
 * tensors one at a time, each padded to the alignment. Atomic (temp file, fsync, rename) and streaming: a tensor's
 * bytes are produced only when it is written, so a model is never held twice.
 *
 * @module
 */
import { GgmlType, type GgmlTypeName, ggmlBlockInfo, ggmlByteSize } from '@andes/tensor';
import { GGUF_DEFAULT_ALIGNMENT } from './gguf-file.js';
import { ByteWriter, type GgufValue, GgufValueType } from './gguf-metadata.js';

/** A tensor to write: its shape and type up front, its bytes on demand. */
export interface GgufTensorSource {
  /** GGUF tensor name. */
  name: string;
  /** Row-major shape (written reversed, innermost first, as GGUF stores dims). */
  shape: readonly number[];
  /** ggml type of the bytes. */
  type: GgmlTypeName;
  /** Produces the tensor's bytes (exactly its size in `type`), called once when the tensor is written. */
  data(): Uint8Array | Promise<Uint8Array>;
}

/** What {@link writeGguf} writes. */
export interface WriteGgufOptions {
  /** Metadata key/values in the order to write (`general.alignment` is added when not the default). */
  metadata: ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>>;
  /** Tensors in the order to write. */
  tensors: readonly GgufTensorSource[];
  /** Data alignment in bytes (multiple of 8); default 32. */
  alignment?: number;
}

/**
 * Writes a GGUF v3 file atomically, tensor by tensor.
 *
 * @example
 * await writeGguf('tiny.gguf', {
 *   metadata: { 'general.architecture': { type: 'string', value: 'llama' } },
 *   tensors: [{ name: 'w', shape: [2, 32], type: 'Q8_0', data: () => quantize('Q8_0', values) }],
 * });
 * @throws Error naming the key or tensor when a value, name or size is invalid (before anything is written).
 */
export async function writeGguf(path: string, options: WriteGgufOptions): Promise<void> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`writeGguf ${path}: alignment ${alignment} must be a positive multiple of 8`);
  }
  const entries = new Map(
    options.metadata instanceof Map
      ? (options.metadata as ReadonlyMap<string, GgufValue>)
      : Object.entries(options.metadata as Record<string, GgufValue>),
  );
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) entries.set('general.alignment', { type: 'u32', value: alignment });
  const w = new ByteWriter();
  for (const b of [0x47, 0x47, 0x55, 0x46]) w.value('u8', b, 'magic');
  w.u32(3);
  w.u64(options.tensors.length);
  w.u64(entries.size);
  for (const [key, v] of entries) {
    if (!(v.type in GgufValueType)) throw new Error(`writeGguf ${path}: metadata ${key}: unknown type ${v.type}`);
    w.string(key);
    w.u32(GgufValueType[v.type]);
    w.value(v.type, v.type === 'array' ? v : v.value, key);
  }
  const sizes: number[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of options.tensors) {
    if (names.has(t.name)) throw new Error(`writeGguf ${path}: tensor ${t.name} appears twice`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4 || !t.shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new Error(`writeGguf ${path}: tensor ${t.name} has an invalid shape [${t.shape.join(', ')}]`);
    }
    const inner = t.shape[t.shape.length - 1]!;
    if (inner % ggmlBlockInfo(t.type).blockSize !== 0) {
      throw new Error(
        `writeGguf ${path}: tensor ${t.name} [${t.shape.join(', ')}]: rows of ${inner} are not whole ${t.type} blocks of ${ggmlBlockInfo(t.type).blockSize}`,
      );
    }
    const size = ggmlByteSize(
      t.type,
      t.shape.reduce((a, b) => a * b, 1),
    );
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GgmlType[t.type]);
    w.u64(offset);
    sizes.push(size);
    offset += Math.ceil(size / alignment) * alignment;
  }
  w.pad(alignment);
  const header = w.bytes();
  // The atomic writer (Node's fs) loads on first use: the main entry stays importable in browsers.
  const { writeFileAtomicWith } = await import('@andes/tensor/node');
  await writeFileAtomicWith(path, async (write) => {
    await write(header);
    for (let i = 0; i < options.tensors.length; i++) {
      const t = options.tensors[i]!;
      const bytes = await t.data();
      if (bytes.byteLength !== sizes[i]) {
        throw new Error(
          `writeGguf ${path}: tensor ${t.name} gave ${bytes.byteLength} bytes; ${t.type} needs ${sizes[i]}`,
        );
      }
      await write(bytes);
      const pad = (alignment - (bytes.byteLength % alignment)) % alignment;
      if (pad > 0) await write(new Uint8Array(pad));
    }
  });
}
