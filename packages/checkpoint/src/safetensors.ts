import { dtypeSize, type HostTensor, shapeSize, tensorBytes, typedView } from './dtypes.js';
import {
  headerLength,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './safetensors-header.js';

/** Named host tensors: a `Map` (kept in order) or a plain object. */
export type NamedHostTensors = ReadonlyMap<string, HostTensor> | Readonly<Record<string, HostTensor>>;

/** What a safetensors file holds. */
export interface SafetensorsContents {
  /** Tensors by name, in file order; data are typed arrays of each dtype. */
  tensors: Map<string, HostTensor>;
  /** The `__metadata__` map, if any. */
  metadata: Record<string, string> | undefined;
}

function entriesOf(tensors: NamedHostTensors): [string, HostTensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, HostTensor>);
}

interface Layout {
  header: Uint8Array;
  order: [string, HostTensor][];
}

/**
 * Header bytes and tensor order for writing: tensors sorted by element size (largest first) then name,
 * as the reference implementation does, so every tensor starts aligned to its element size; header
 * padded with spaces so the data section starts at a multiple of 8.
 */
function layout(tensors: NamedHostTensors, metadata: Record<string, string> | undefined, file: string): Layout {
  const order = entriesOf(tensors).sort(
    ([an, a], [bn, b]) => dtypeSize(b.dtype) - dtypeSize(a.dtype) || (an < bn ? -1 : an > bn ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors ${file}: metadata ${k} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let at = 0;
  for (const [name, t] of order) {
    if (name === '__metadata__') throw new Error(`safetensors ${file}: "__metadata__" cannot name a tensor`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(
        `safetensors ${file}: tensor ${JSON.stringify(name)} has an invalid shape [${t.shape.join(', ')}]`,
      );
    }
    const bytes = shapeSize(t.shape) * dtypeSize(t.dtype);
    if (t.data.byteLength !== bytes) {
      throw new Error(
        `safetensors ${file}: tensor ${JSON.stringify(name)} has ${t.data.byteLength} bytes of data but ${t.dtype} [${t.shape.join(', ')}] needs ${bytes}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  return { header: padded, order };
}

function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/**
 * Serialises tensors to safetensors bytes in memory.
 *
 * @example encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } })
 */
export function encodeSafetensors(tensors: NamedHostTensors, metadata?: Record<string, string>): Uint8Array {
  const { header, order } = layout(tensors, metadata, '<buffer>');
  let total = 8 + header.length;
  for (const [, t] of order) total += t.data.byteLength;
  const out = new Uint8Array(total);
  out.set(lengthPrefix(header.length), 0);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const [, t] of order) {
    out.set(tensorBytes(t), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes (validated; see `parseSafetensorsHeader`). Tensor data are views into
 * `bytes` where aligned, copies otherwise.
 *
 * @param file name used in error messages.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContents {
  const n = headerLength(bytes, bytes.length, file);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length, file);
  const tensors = new Map<string, HostTensor>();
  for (const e of header.entries) {
    const data = bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: typedView(e.dtype, data) });
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Reads and validates only the header of a safetensors file (8 + N bytes, never the tensor data),
 * e.g. to list the tensors of a multi-gigabyte checkpoint.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  // Loaded on first use, so the package's main entry stays importable in browsers (only paths need Node).
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, Math.min(8, size), 0);
    const n = headerLength(prefix, size, path);
    const headerBytes = new Uint8Array(n);
    const { bytesRead } = await handle.read(headerBytes, 0, n, 8);
    if (bytesRead !== n) throw new Error(`safetensors ${path}: read ${bytesRead} of ${n} header bytes`);
    return parseSafetensorsHeader(headerBytes, size, path);
  } finally {
    await handle.close();
  }
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Read only these tensors (error if one is absent); default all. */
  names?: readonly string[];
}

/**
 * Reads a safetensors file: the header first, then each requested tensor by its offset, so only the
 * tensors asked for are held in memory.
 */
export async function readSafetensors(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  const header = await readSafetensorsHeader(path);
  let wanted: SafetensorsEntry[] = header.entries;
  if (options.names) {
    const byName = new Map(header.entries.map((e) => [e.name, e]));
    wanted = options.names.map((name) => {
      const e = byName.get(name);
      if (!e) throw new Error(`safetensors ${path}: no tensor named ${JSON.stringify(name)}`);
      return e;
    });
  }
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    const tensors = new Map<string, HostTensor>();
    for (const e of wanted) {
      const length = e.dataOffsets[1] - e.dataOffsets[0];
      // Allocate at an 8-aligned fresh buffer so the typed view never needs a copy.
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, header.dataStart + e.dataOffsets[0] + done);
        if (bytesRead === 0) throw new Error(`safetensors ${path}: tensor ${JSON.stringify(e.name)} is truncated`);
        done += bytesRead;
      }
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: typedView(e.dtype, bytes) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await handle.close();
  }
}

/**
 * Writes tensors to a safetensors file atomically (temp file, fsync, rename, fsync directory),
 * streaming tensor by tensor instead of building the whole file in memory.
 */
export async function writeSafetensors(
  path: string,
  tensors: NamedHostTensors,
  metadata?: Record<string, string>,
): Promise<void> {
  const { header, order } = layout(tensors, metadata, path);
  const { writeFileAtomicWith } = await import('@andes/tensor/node');
  await writeFileAtomicWith(path, async (write) => {
    await write(lengthPrefix(header.length));
    await write(header);
    for (const [, t] of order) await write(tensorBytes(t));
  });
}
