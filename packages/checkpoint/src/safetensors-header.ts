import { dtypeSize, isSafetensorsDtype, type SafetensorsDtype, shapeSize } from './dtypes.js';

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  /** Tensor name. */
  name: string;
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Row-major dimensions. */
  shape: number[];
  /** `[begin, end)` byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Entries in file order (sorted by data offset). */
  entries: SafetensorsEntry[];
  /** The `__metadata__` string map, if any. */
  metadata: Record<string, string> | undefined;
  /** Byte offset of the data section in the file: 8 + header length. */
  dataStart: number;
  /** Length of the data section in bytes. */
  dataLength: number;
}

/** Largest header accepted (the reference Rust implementation's limit, 100 MB). */
export const maxHeaderBytes = 100_000_000;

/**
 * Reads the u64 little-endian header length from the first 8 bytes and checks it against the file size.
 *
 * @param prefix at least the first 8 bytes of the file.
 * @param fileSize total size of the file in bytes.
 * @param file file name for error messages.
 */
export function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8)
    throw new Error(`safetensors ${file}: ${fileSize} bytes is too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes))
    throw new Error(`safetensors ${file}: header length ${n} exceeds the ${maxHeaderBytes}-byte limit`);
  if (n > BigInt(fileSize - 8))
    throw new Error(`safetensors ${file}: header length ${n} runs past the end of the ${fileSize}-byte file`);
  if (n < 2n) throw new Error(`safetensors ${file}: header length ${n} is too short for a JSON object`);
  return Number(n);
}

/**
 * Top-level keys of a JSON object text, in order, including duplicates (which `JSON.parse` would
 * silently merge; the spec forbids them). Assumes `text` already parsed as JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function isNonNegativeInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates the JSON header of a safetensors file: starts with `{`, valid UTF-8 JSON,
 * unique names, known dtypes, integer shapes, `end − begin = product(shape) · itemsize`, and data
 * offsets that tile the data section exactly (contiguous, no overlap, no holes, in range).
 *
 * @param headerBytes the N header bytes (after the 8-byte length).
 * @param fileSize total file size, to bound the data section.
 * @param file file name for error messages.
 * @throws Error naming the file and, where one is at fault, the tensor.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileSize - dataStart;
  if (headerBytes[0] !== 0x7b) throw new Error(`safetensors ${file}: header does not start with '{'`);
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`safetensors ${file}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`safetensors ${file}: header is not a JSON object`);
  }
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) throw new Error(`safetensors ${file}: tensor name ${JSON.stringify(key)} appears twice`);
    seen.add(key);
  }
  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    const where = `safetensors ${file}: tensor ${JSON.stringify(name)}`;
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new Error(`safetensors ${file}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string')
          throw new Error(`safetensors ${file}: __metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isNonNegativeInteger) ||
      offsets[0] > offsets[1]
    ) {
      throw new Error(
        `${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`,
      );
    }
    const expected = shapeSize(shape) * dtypeSize(dtype);
    if (offsets[1] - offsets[0] !== expected) {
      throw new Error(
        `${where}: data_offsets [${offsets.join(', ')}] hold ${offsets[1] - offsets[0]} bytes but ${dtype} [${shape.join(', ')}] needs ${expected}`,
      );
    }
    entries.push({ name, dtype, shape: [...shape], dataOffsets: [offsets[0], offsets[1]] });
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let at = 0;
  for (const e of entries) {
    const [begin, end] = e.dataOffsets;
    if (begin !== at) {
      const problem = begin < at ? 'overlaps the previous tensor' : `leaves a hole of ${begin - at} bytes before it`;
      throw new Error(`safetensors ${file}: tensor ${JSON.stringify(e.name)} at [${begin}, ${end}) ${problem}`);
    }
    if (end > dataLength) {
      throw new Error(
        `safetensors ${file}: tensor ${JSON.stringify(e.name)} ends at byte ${end} but the data section has ${dataLength} bytes (truncated file?)`,
      );
    }
    at = end;
  }
  if (at !== dataLength) {
    throw new Error(
      `safetensors ${file}: ${dataLength - at} bytes after the last tensor are not indexed by the header`,
    );
  }
  return { entries, metadata, dataStart, dataLength };
}
