/**
 * llama2.c `.bin` models (layouts in llama2c-layout.ts) read and written tensor by tensor, with `tokenizer.bin`
 * beside them. run.c hard-codes RMSNorm ε = 1e-5 and RoPE θ = 10000 and has no BOS/EOS fields (1 and 2).
 *
 * @module
 */
import { type LlamaConfig, llamaConfig } from '@andes/nn';
import { hostTensorToFloat32, toHostTensors } from './host-tensors.js';
import {
  LLAMA2C_HEADER_BYTES,
  LLAMA2C_MAGIC,
  type Llama2cSlot,
  llama2cOffsets,
  llama2cSlots,
} from './llama2c-layout.js';
import { decodeTokenizerBin, readTokenizerBin, writeTokenizerBin } from './llama2c-tokenizer.js';
import {
  type ExportModelOptions,
  exportSource,
  type LoadedModel,
  type LoadModelInfoOptions,
  type LoadModelOptions,
  type ModelInfo,
} from './loaded-model.js';
import { permuteForHalfRope, permuteForInterleavedRope } from './rope-permutation.js';
import { roundTripDtype } from './weight-dtype.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');
/** Node's path module, loaded on first use: the main entry stays importable in browsers. */
const nodePath = () => import('node:path');
/** The atomic writers (`@andes/tensor/node`), loaded on first use: the main entry stays importable in browsers. */
const nodeWriters = () => import('@andes/tensor/node');

const qkWeight = /\.self_attn\.(q|k)_proj\.weight$/;

/** run.c's fixed RMSNorm epsilon and RoPE base. */
export const LLAMA2C_RMS_EPS = 1e-5;
const LLAMA2C_ROPE_THETA = 10000;

/** What the loader reads bytes through: a Node file handle, or bytes in memory (a file picked in a browser). */
interface ByteReader {
  read(out: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** A reader over bytes in memory. */
function bytesReader(bytes: Uint8Array): ByteReader {
  return {
    read: async (out, offset, length, position) => {
      const n = Math.max(0, Math.min(length, bytes.byteLength - position));
      out.set(bytes.subarray(position, position + n), offset);
      return { bytesRead: n };
    },
  };
}

async function readAt(handle: ByteReader, position: number, length: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`${path}: the file ends at byte ${position + done}; it is truncated`);
    done += bytesRead;
  }
  return out;
}

interface Header {
  version: 0 | 1 | 2;
  config: LlamaConfig;
  groupSize: number;
}

function parseHeader(bytes: Uint8Array, path: string): Header {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versioned = v.getUint32(0, true) === LLAMA2C_MAGIC;
  const version = versioned ? v.getInt32(4, true) : 0;
  if (version !== 0 && version !== 1 && version !== 2) {
    throw new Error(`${path}: llama2.c version ${version} is not supported (legacy, 1 or 2)`);
  }
  const at = versioned ? 8 : 0;
  const ints = Array.from({ length: 7 }, (_, i) => v.getInt32(at + 4 * i, true));
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = ints as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const shared = versioned ? v.getUint8(36) === 1 : vocab > 0;
  const groupSize = version === 2 ? v.getInt32(37, true) : 0;
  if (!ints.every((x, i) => (i === 5 ? x !== 0 : x > 0)) || (version === 2 && groupSize <= 0)) {
    throw new Error(
      `${path}: not a llama2.c model (header dim ${dim}, hidden_dim ${hidden}, n_layers ${layers}, n_heads ${heads}, n_kv_heads ${kvHeads}, vocab_size ${vocab}, seq_len ${seqLen})`,
    );
  }
  try {
    const config = llamaConfig({
      vocab_size: Math.abs(vocab),
      hidden_size: dim,
      intermediate_size: hidden,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      max_position_embeddings: seqLen,
      rms_norm_eps: LLAMA2C_RMS_EPS,
      rope_theta: LLAMA2C_ROPE_THETA,
      tie_word_embeddings: shared,
    });
    return { version, config, groupSize };
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** The config in a llama2.c `.bin` header (reads 64 bytes). */
export async function readLlama2cConfig(path: string): Promise<LlamaConfig> {
  const handle = await (await nodeFs()).open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    return parseHeader(await readAt(handle, 0, Math.min(size, 64), path), path).config;
  } finally {
    await handle.close();
  }
}

/** Options of {@link loadLlama2cModel}. */
export interface LoadLlama2cOptions extends LoadModelOptions {
  /** `tokenizer.bin` to read (default: beside the model, when present). */
  tokenizerPath?: string;
}

/**
 * Loads a llama2.c `.bin` (legacy v0, version 1 float32, version 2 int8 groups) as float32 weights by Hugging Face
 * name, with `tokenizer.bin` from beside it when present.
 *
 * @example const { config, tensors, tokenizer } = await loadLlama2cModel('stories15M.bin');
 */
export async function loadLlama2cModel(path: string, options: LoadLlama2cOptions = {}): Promise<LoadedModel> {
  const handle = await (await nodeFs()).open(path, 'r');
  try {
    const result = await loadWeights(handle, (await handle.stat()).size, path, options);
    await addTokenizerBin(result, path, options);
    return result;
  } finally {
    await handle.close();
  }
}

/**
 * A llama2.c `.bin`'s config (from its 64-byte header, `rope_style` the layout asked for) and `tokenizer.bin` from
 * beside it when present, reading no weights (nor checking that the file holds them all: the full load does).
 *
 * @example const { config, tokenizer } = await loadLlama2cModelInfo('stories15M.bin');
 */
export async function loadLlama2cModelInfo(
  path: string,
  options: LoadModelInfoOptions & Pick<LoadLlama2cOptions, 'tokenizerPath'> = {},
): Promise<ModelInfo> {
  const config = await readLlama2cConfig(path);
  config.rope_style = options.ropeLayout ?? 'half';
  const info: ModelInfo = { format: 'llama2c', config };
  await addTokenizerBin(info, path, options);
  return info;
}

/** Reads `tokenizer.bin` (`options.tokenizerPath`, else beside the model when present) into `into.tokenizer`. */
async function addTokenizerBin(into: ModelInfo, path: string, options: LoadLlama2cOptions): Promise<void> {
  if (options.skipTokenizer) return;
  const tokenizerPath =
    options.tokenizerPath ?? (await nodePath()).join((await nodePath()).dirname(path), 'tokenizer.bin');
  const exists = await (await nodeFs()).open(tokenizerPath, 'r').then(
    (h) => h.close().then(() => true),
    () => false,
  );
  if (exists) into.tokenizer = await readTokenizerBin(tokenizerPath, into.config.vocab_size);
  else if (options.tokenizerPath) throw new Error(`${tokenizerPath}: no such tokenizer.bin`);
}

/**
 * {@link loadLlama2cModel} over files held in memory — picked in a browser: the model's bytes (named `name` in
 * errors) and, optionally, its `tokenizer.bin`.
 *
 * @example const loaded = await loadLlama2cModelBytes('stories15M.bin', modelBytes, { tokenizerBin });
 */
export async function loadLlama2cModelBytes(
  name: string,
  bytes: Uint8Array,
  options: LoadModelOptions & { tokenizerBin?: Uint8Array } = {},
): Promise<LoadedModel> {
  const result = await loadWeights(bytesReader(bytes), bytes.byteLength, name, options);
  if (options.tokenizerBin && !options.skipTokenizer) {
    result.tokenizer = decodeTokenizerBin(options.tokenizerBin, 'tokenizer.bin', result.config.vocab_size);
  }
  return result;
}

/** Reads the header and every weight of a llama2.c file of `size` bytes through `handle`. */
async function loadWeights(
  handle: ByteReader,
  size: number,
  path: string,
  options: LoadModelOptions,
): Promise<LoadedModel> {
  const { version, config, groupSize } = parseHeader(await readAt(handle, 0, Math.min(size, 64), path), path);
  const layout = options.ropeLayout ?? 'half';
  config.rope_style = layout;
  const slots = llama2cSlots(config, version);
  const offsets = llama2cOffsets(slots, version, groupSize);
  if (size !== offsets.size) {
    throw new Error(
      `${path}: a llama2.c v${version} file of this config has ${offsets.size} bytes, the file ${size} (${size < offsets.size ? 'truncated' : 'trailing data or a different config'})`,
    );
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const storedTypes = new Map<string, string>();
  for (const [i, slot] of slots.entries()) {
    if (slot.name === undefined) continue;
    let data = await readSlot(handle, slot, offsets.data[i]!, offsets.scales[i]!, groupSize, path);
    const qk = qkWeight.exec(slot.name);
    if (qk && layout === 'half') {
      const heads = qk[1] === 'q' ? config.num_attention_heads : config.num_key_value_heads;
      data = permuteForHalfRope({ shape: slot.shape, data }, heads).data;
    }
    // `keep` and `auto` alike: llama2.c weights load as float32 (no block types to keep).
    if (options.dtype && options.dtype !== 'keep' && options.dtype !== 'auto') {
      data = roundTripDtype(slot.shape, data, options.dtype);
    }
    tensors.set(slot.name, { shape: slot.shape, data });
    storedTypes.set(slot.name, slot.quantized ? `int8/${groupSize}` : 'F32');
  }
  return { format: 'llama2c', config, tensors, storedTypes };
}

async function readSlot(
  handle: ByteReader,
  slot: Llama2cSlot,
  at: number,
  scalesAt: number,
  groupSize: number,
  path: string,
): Promise<Float32Array> {
  const n = slot.shape.reduce((a, b) => a * b, 1);
  if (!slot.quantized) return new Float32Array((await readAt(handle, at, n * 4, path)).buffer);
  const q = new Int8Array((await readAt(handle, at, n, path)).buffer);
  const s = new Float32Array((await readAt(handle, scalesAt, (n / groupSize) * 4, path)).buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = q[i]! * s[Math.floor(i / groupSize)]!;
  return out;
}

/** Options of {@link saveLlama2cModel}. */
export interface SaveLlama2cOptions extends ExportModelOptions {
  /** Layout: 0 (legacy, run.c's; default), 1 (float32 with header) or 2 (int8 groups, runq.c's). */
  version?: 0 | 1 | 2;
  /** Version 2 group size; default 64, halved until it divides the model width (as export.py does). */
  groupSize?: number;
  /** Where to write `tokenizer.bin` (default: beside the model) when a tokenizer is given. */
  tokenizerPath?: string;
}

/** torch.round: halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** export.py's `quantize_q80`: per group scale = max|w| / 127, q = round(w / scale) with halves to even. */
function quantizeGroups(values: Float32Array, groupSize: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(values.length);
  const scales = new Float32Array(values.length / groupSize);
  for (let g = 0; g < scales.length; g++) {
    let max = 0;
    for (let j = 0; j < groupSize; j++) max = Math.max(max, Math.abs(values[g * groupSize + j]!));
    const scale = Math.fround(max / 127);
    scales[g] = scale;
    if (scale === 0) continue;
    for (let j = 0; j < groupSize; j++) {
      q[g * groupSize + j] = roundHalfEven(Math.fround(values[g * groupSize + j]! / scale));
    }
  }
  return { q, scales };
}

/**
 * Writes a model as a llama2.c `.bin` (legacy v0 by default, so run.c runs it) and, when a tokenizer is given,
 * `tokenizer.bin` beside it. Returns warnings about what the format cannot store (run.c uses ε = 1e-5).
 *
 * @throws Error when the model cannot be expressed (RoPE θ other than 10000, a dtype other than f32/q8_0).
 */
export async function saveLlama2cModel(path: string, options: SaveLlama2cOptions): Promise<string[]> {
  const { config } = options;
  const dtype = options.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'q8_0') {
    throw new Error(
      `saveLlama2cModel ${path}: llama2.c stores f32 (legacy, v1) or int8 groups (v2, q8_0), not ${dtype}`,
    );
  }
  const version = options.version ?? (dtype === 'q8_0' ? 2 : 0);
  if ((version === 2) !== (dtype === 'q8_0')) {
    throw new Error(`saveLlama2cModel ${path}: version ${version} does not hold ${dtype} weights`);
  }
  if (config.rope_theta !== LLAMA2C_ROPE_THETA) {
    throw new Error(`saveLlama2cModel ${path}: run.c fixes RoPE theta at 10000; this model uses ${config.rope_theta}`);
  }
  const warnings: string[] = [];
  if (Math.fround(config.rms_norm_eps) !== Math.fround(LLAMA2C_RMS_EPS)) {
    warnings.push(`llama2.c has no field for rms_norm_eps: run.c uses 1e-5, this model ${config.rms_norm_eps}`);
  }
  let groupSize = options.groupSize ?? 64;
  while (config.hidden_size % groupSize !== 0) groupSize /= 2;
  const layout = options.ropeLayout ?? config.rope_style ?? 'half';
  const host = await toHostTensors(exportSource(options, `saveLlama2cModel ${path}`));
  const slots = llama2cSlots(config, version);
  const hs = config.hidden_size / config.num_attention_heads;
  const tensorOf = (slot: Llama2cSlot): Float32Array => {
    const name = slot.name!;
    const t = host.get(name);
    if (!t) throw new Error(`saveLlama2cModel ${path}: the state dict has no ${name}`);
    if (t.shape.join() !== slot.shape.join()) {
      throw new Error(`saveLlama2cModel ${path}: ${slot.name} is [${t.shape}], the config says [${slot.shape}]`);
    }
    let data = hostTensorToFloat32(t, name);
    const qk = qkWeight.exec(name);
    if (qk && layout === 'half') {
      const heads = qk[1] === 'q' ? config.num_attention_heads : config.num_key_value_heads;
      data = permuteForInterleavedRope({ shape: slot.shape, data }, heads).data;
    }
    return data;
  };
  await (await nodeWriters()).writeFileAtomicWith(path, async (write) => {
    await write(headerBytes(config, version, groupSize));
    let tables = 0; // the skipped RoPE tables: cos first, then sin
    for (const slot of slots) {
      const values =
        slot.name === undefined ? ropeTable(config.max_position_embeddings, hs, tables++ === 0) : tensorOf(slot);
      if (!slot.quantized) {
        await write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        continue;
      }
      const g = quantizeGroups(values, groupSize);
      await write(new Uint8Array(g.q.buffer));
      await write(new Uint8Array(g.scales.buffer));
    }
  });
  if (options.tokenizer) {
    await writeTokenizerBin(
      options.tokenizerPath ?? (await nodePath()).join((await nodePath()).dirname(path), 'tokenizer.bin'),
      options.tokenizer,
    );
  }
  return warnings;
}

/** Meta's `freqs_cos` / `freqs_sin` [seqLen, headSize/2] that legacy files carry (run.c skips them). */
function ropeTable(seqLen: number, headSize: number, cos: boolean): Float32Array {
  const out = new Float32Array((seqLen * headSize) / 2);
  for (let t = 0; t < seqLen; t++) {
    for (let i = 0; i < headSize / 2; i++) {
      const angle = t * Math.fround(1 / LLAMA2C_ROPE_THETA ** ((2 * i) / headSize));
      out[(t * headSize) / 2 + i] = cos ? Math.cos(angle) : Math.sin(angle);
    }
  }
  return out;
}

function headerBytes(config: LlamaConfig, version: 0 | 1 | 2, groupSize: number): Uint8Array {
  const out = new Uint8Array(version === 0 ? 28 : LLAMA2C_HEADER_BYTES);
  const v = new DataView(out.buffer);
  const at = version === 0 ? 0 : 8;
  if (version !== 0) {
    v.setUint32(0, LLAMA2C_MAGIC, true);
    v.setInt32(4, version, true);
    v.setUint8(36, config.tie_word_embeddings ? 1 : 0);
    if (version === 2) v.setInt32(37, groupSize, true);
  }
  const vocab = version === 0 && !config.tie_word_embeddings ? -config.vocab_size : config.vocab_size;
  const ints = [
    config.hidden_size,
    config.intermediate_size,
    config.num_hidden_layers,
    config.num_attention_heads,
    config.num_key_value_heads,
    vocab,
    config.max_position_embeddings,
  ];
  for (const [i, x] of ints.entries()) v.setInt32(at + 4 * i, x, true);
  return out;
}
