/**
 * LLaMA models in GGUF as llama.cpp reads and writes them: `llama.*` metadata, llama.cpp tensor names, Meta's
 * interleaved q/k row order (the HF ↔ Meta permutation of rope-permutation.ts), the tokenizer embedded. Reading
 * dequantizes one tensor at a time to float32 (tensors are float32-only in Andes today); writing quantizes one
 * tensor at a time as it is written.
 *
 * @module
 */
import type { LlamaConfig } from '@andes/nn';
import { type BlockType, BlockWeight, dequantize, quantize } from '@andes/tensor';
import { GgufFile } from './gguf-file.js';
import { ggufTensorName, hfTensorName, llamaConfigFromGguf, llamaMetadata } from './gguf-llama.js';
import type { GgufValue } from './gguf-metadata.js';
import { ggufTokenizerMetadata, tokenizerFromGguf } from './gguf-tokenizer.js';
import { type GgufTensorSource, writeGguf } from './gguf-writer.js';
import { hostTensorToFloat32, toHostTensors } from './host-tensors.js';
import {
  type ExportModelOptions,
  exportSource,
  type LoadedModel,
  type LoadModelInfoOptions,
  type LoadModelOptions,
  type ModelInfo,
} from './loaded-model.js';
import { permuteForHalfRope, permuteForInterleavedRope } from './rope-permutation.js';
import { ggmlTypeFor, roundTripDtype, type WeightDtype, withConcreteDtype } from './weight-dtype.js';

const qkWeight = /\.self_attn\.(q|k)_proj\.weight$/;

/** llama.cpp's `general.file_type` (`enum llama_ftype`) of each storage type. */
export const ggufFileType: Readonly<Record<WeightDtype, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

const blockTypes: ReadonlySet<string> = new Set<BlockType>(['F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K']);

/**
 * Whether `dtype: 'keep'` keeps a tensor in its file type: matrices in a block type — linear layers and the embedding
 * table (its lookup decodes only the rows asked for, see `blockEmbedding`); F16 and BF16 ones only with `keepHalves`.
 */
function keepsBlocks(type: string, shape: readonly number[], keepHalves: boolean): boolean {
  return shape.length === 2 && blockTypes.has(type) && (keepHalves || (type !== 'F16' && type !== 'BF16'));
}

/** The config of a LLaMA GGUF file, from its header alone. */
export async function readGgufConfig(path: string): Promise<LlamaConfig> {
  const file = await GgufFile.open(path);
  try {
    const embedding = file.info('token_embd.weight');
    if (!embedding) throw new Error(`${path}: no token_embd.weight tensor; not a LLaMA model file`);
    return llamaConfigFromGguf(file.header.metadata, path, embedding.shape[0]!, !file.info('output.weight'));
  } finally {
    await file.close();
  }
}

/**
 * A LLaMA GGUF file's config (its `rope_style` the layout asked for) and embedded tokenizer, from the header alone:
 * no tensor data is read (the header is read in chunks of 1 MiB, which for a small file may span the data too).
 *
 * @example const { config, tokenizer } = await loadGgufModelInfo('stories15M.q8_0.gguf');
 */
export async function loadGgufModelInfo(path: string, options: LoadModelInfoOptions = {}): Promise<ModelInfo> {
  const file = await GgufFile.open(path);
  try {
    return ggufInfo(file, options);
  } finally {
    await file.close();
  }
}

/** Config and tokenizer from an open GGUF file's header (what the full load and the info load share). */
function ggufInfo(file: GgufFile, options: LoadModelInfoOptions): ModelInfo {
  const { path } = file;
  const metadata = file.header.metadata;
  const embedding = file.info('token_embd.weight');
  if (!embedding) throw new Error(`${path}: no token_embd.weight tensor; not a LLaMA model file`);
  const config = llamaConfigFromGguf(metadata, path, embedding.shape[0]!, !file.info('output.weight'));
  config.rope_style = options.ropeLayout ?? 'half';
  const info: ModelInfo = { format: 'gguf', config };
  if (!options.skipTokenizer) info.tokenizer = tokenizerFromGguf(metadata, path);
  return info;
}

/**
 * Loads a LLaMA GGUF file (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K tensors; a Q4_K_M file mixes the last two) as
 * float32 weights by Hugging Face name, with its config and embedded SentencePiece tokenizer.
 *
 * @example
 * const loaded = await loadGgufModel('model.Q4_K_M.gguf');
 * const model = LlamaForCausalLM.fromWeights(loaded.config, loaded); // built empty, filled tensor by tensor
 */
export async function loadGgufModel(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  return loadGgufFile(await GgufFile.open(path), options);
}

/**
 * {@link loadGgufModel} over a GGUF file held in memory — a file picked in a browser, named `name` in errors.
 *
 * @example
 * const loaded = await loadGgufModelBytes(file.name, new Uint8Array(await file.arrayBuffer()));
 */
export async function loadGgufModelBytes(
  name: string,
  bytes: Uint8Array,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  return loadGgufFile(await GgufFile.fromBytes(name, bytes), options);
}

/** Reads every tensor of an open GGUF file (see {@link loadGgufModel}) and closes it. */
async function loadGgufFile(file: GgufFile, given: LoadModelOptions): Promise<LoadedModel> {
  const path = file.path;
  const options = withConcreteDtype(given);
  try {
    const infos = file.header.tensors;
    const { config, tokenizer } = ggufInfo(file, options);
    const layout = config.rope_style;
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    const storedTypes = new Map<string, string>();
    const blockWeights = new Map<string, BlockWeight>();
    // One read buffer for every tensor (the largest's size): the load allocates the float32 model and nothing else.
    const scratch = new Uint8Array(Math.max(0, ...infos.map((t) => t.byteLength)));
    for (const info of infos) {
      const name = hfTensorName(info.name);
      if (name === undefined) {
        const hint = info.name === 'rope_freqs.weight' ? ' (rope frequency scaling is not supported)' : '';
        throw new Error(`${path}: tensor ${info.name} is not part of a LLaMA model Andes runs${hint}`);
      }
      const count = info.shape.reduce((a, b) => a * b, 1);
      if (options.dtype === 'keep' && keepsBlocks(info.type!, info.shape, options.keepHalves ?? true)) {
        const [rows, cols] = info.shape as [number, number];
        let bytes = {
          shape: [rows, info.byteLength / rows] as readonly number[],
          data: await file.tensorBytes(info, scratch),
        };
        const qk = qkWeight.exec(name);
        if (qk && layout === 'half') {
          // Rows are whole blocks, so the q/k row permutation moves their bytes unchanged.
          bytes = permuteForHalfRope(bytes, qk[1] === 'q' ? config.num_attention_heads : config.num_key_value_heads);
        }
        blockWeights.set(name, BlockWeight.fromBytes(info.type as BlockType, [rows, cols], bytes.data));
        storedTypes.set(name, info.type!);
        continue;
      }
      const raw = dequantize(info.type!, await file.tensorBytes(info, scratch), count);
      let values = {
        shape: info.shape as readonly number[],
        data: raw.buffer === scratch.buffer ? raw.slice() : raw, // F32 comes back as a view of the scratch
      };
      const qk = qkWeight.exec(name);
      if (qk && layout === 'half') {
        const heads = qk[1] === 'q' ? config.num_attention_heads : config.num_key_value_heads;
        values = permuteForHalfRope(values, heads);
      }
      const data =
        options.dtype && options.dtype !== 'keep'
          ? roundTripDtype(values.shape, values.data, options.dtype)
          : values.data;
      tensors.set(name, { shape: [...values.shape], data });
      storedTypes.set(name, info.type!);
    }
    const result: LoadedModel = { format: 'gguf', config, tensors, storedTypes };
    if (options.dtype === 'keep') result.blockWeights = blockWeights;
    if (tokenizer) result.tokenizer = tokenizer;
    return result;
  } finally {
    await file.close();
  }
}

/**
 * Writes a LLaMA model as GGUF v3 for llama.cpp: `llama.*` metadata, llama.cpp tensor names, q/k in Meta's
 * interleaved order, matrices in `dtype` (norms F32; Q8_0/Q4_0 rows that are not whole blocks fall back to F16),
 * and the SentencePiece tokenizer embedded. Atomic and streaming: each tensor is converted as it is written.
 *
 * @example await saveGgufModel('tiny.q8_0.gguf', { config: model.config, model, tokenizer, dtype: 'q8_0' });
 */
export async function saveGgufModel(path: string, options: ExportModelOptions): Promise<void> {
  const { config } = options;
  const dtype = options.dtype ?? 'f32';
  const layout = options.ropeLayout ?? config.rope_style ?? 'half';
  const host = await toHostTensors(exportSource(options, `saveGgufModel ${path}`));
  const metadata = llamaMetadata(config, options.name ?? (path.split(/[/]/).pop() ?? path).replace(/\.gguf$/i, ''));
  metadata.set('general.file_type', { type: 'u32', value: ggufFileType[dtype] });
  if (options.tokenizer) for (const [k, v] of ggufTokenizerMetadata(options.tokenizer)) metadata.set(k, v);
  const tensors: GgufTensorSource[] = [];
  for (const [name, t] of host) {
    const ggufName = ggufTensorName(name);
    if (ggufName === undefined) throw new Error(`saveGgufModel ${path}: ${name} is not a LLaMA parameter`);
    const type = ggmlTypeFor(t.shape, dtype);
    tensors.push({
      name: ggufName,
      shape: t.shape,
      type,
      data: () => {
        let values = { shape: t.shape as readonly number[], data: hostTensorToFloat32(t, name) };
        const qk = qkWeight.exec(name);
        if (qk && layout === 'half') {
          const heads = qk[1] === 'q' ? config.num_attention_heads : config.num_key_value_heads;
          values = permuteForInterleavedRope(values, heads);
        }
        return quantize(type, values.data);
      },
    });
  }
  await writeGguf(path, { metadata: metadata as Map<string, GgufValue>, tensors });
}
