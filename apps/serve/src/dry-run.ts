/**
 * `andes-serve --dry-run`: reads only the model's config and prints the memory it needs per storage type — weights
 * plus the KV cache for the slots × context the server would allocate — as llama.cpp and web-llm do before loading.
 *
 * @module
 */
import {
  GgufFile,
  type LoadDtype,
  loadModelDirInfo,
  loadOptionsOf,
  modelFormatOf,
  modelMemoryTable,
  readModelConfig,
} from '@andes/checkpoint';
import { DTYPE_BYTES } from '@andes/tensor';
import { KV_DTYPE_NAMES, type KvDtype } from './llama-engine.js';

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * A GGUF file's tensors by type as `--dtype keep` holds them (count of each) and their bytes; with `keepHalves`
 * false, F16 and BF16 ones as float32 (what `auto` holds on the CPU). Null for other formats.
 */
export async function storedWeights(
  path: string,
  keepHalves = true,
): Promise<{ types: Map<string, number>; bytes: number } | null> {
  if (modelFormatOf(path) !== 'gguf') return null;
  const file = await GgufFile.open(path);
  try {
    const types = new Map<string, number>();
    let bytes = 0;
    for (const t of file.header.tensors) {
      const half = t.type === 'F16' || t.type === 'BF16';
      const type = half && !keepHalves ? 'F32' : (t.type ?? `type ${t.typeId}`);
      types.set(type, (types.get(type) ?? 0) + 1);
      bytes += half && !keepHalves ? 2 * t.byteLength : t.byteLength;
    }
    return { types, bytes };
  } finally {
    await file.close();
  }
}

/**
 * How the server holds the weights of `path` under `--dtype` `dtype` on the backend named `backend`, for its ready
 * line: a GGUF's types and bytes under `keep` and `auto`, a Hugging Face directory's F16/BF16 matrices where those
 * keep halves, else float32 (rounded through `dtype` when one is given).
 */
export async function heldWeights(path: string, dtype: LoadDtype, backend: string): Promise<string> {
  const load = loadOptionsOf(dtype, backend);
  const stored = load.dtype === 'keep' ? await storedWeights(path, load.keepHalves) : null;
  if (stored)
    return `weights held as ${[...stored.types].map(([t, n]) => `${t} ×${n}`).join(', ')}, ${gib(stored.bytes)}`;
  if (load.dtype === 'keep' && load.keepHalves && modelFormatOf(path) === 'hf') {
    const { rawConfig } = await loadModelDirInfo(path, { skipTokenizer: true });
    const half = { float16: 'F16', bfloat16: 'BF16' }[String(rawConfig.torch_dtype)];
    if (half) return `weights held as ${half} (matrices) and float32 (norms)`;
  }
  return load.dtype === 'keep' || dtype === 'f32'
    ? 'weights in float32'
    : `weights in float32, rounded through ${dtype}`;
}

/**
 * The dry-run report for `path` (GGUF, llama2.c `.bin` or Hugging Face directory) with `slots` sequences of
 * `context` positions (default: the model's `max_position_embeddings`) and a KV cache of `kvDtype` (default float32).
 */
export async function dryRunReport(
  path: string,
  slots: number,
  context?: number,
  kvDtype: KvDtype = 'float32',
): Promise<string> {
  const config = await readModelConfig(path);
  const positions = context ?? config.max_position_embeddings;
  const rows = modelMemoryTable(config, slots * positions, DTYPE_BYTES[kvDtype]);
  const kv = `KV (${KV_DTYPE_NAMES[kvDtype]})`;
  const stored = await storedWeights(path);
  const kvBytes = rows[0]!.kvBytes;
  const lines = [
    `andes-serve --dry-run: ${path}`,
    `  ${config.num_hidden_layers} layers, width ${config.hidden_size}, vocab ${config.vocab_size}; KV cache for ${slots} slots × ${positions} positions`,
    `  ${'dtype'.padEnd(8)}${'weights'.padStart(12)}${kv.padStart(12)}${'total'.padStart(12)}`,
    ...rows.map(
      (r) =>
        `  ${r.dtype.padEnd(8)}${gib(r.weightBytes).padStart(12)}${gib(r.kvBytes).padStart(12)}${gib(r.totalBytes).padStart(12)}`,
    ),
    ...(stored
      ? [
          `  ${'stored'.padEnd(8)}${gib(stored.bytes).padStart(12)}${gib(kvBytes).padStart(12)}${gib(stored.bytes + kvBytes).padStart(12)}` +
            `   this file, held so by --dtype keep (and auto, the default, but for F16/BF16 on the CPU): ` +
            [...stored.types].map(([t, n]) => `${t} ×${n}`).join(', '),
        ]
      : []),
    stored
      ? '  Any other --dtype holds every matrix in float32 (the f32 row), rounded through that type;'
      : "  A Hugging Face directory's f16/bf16 matrices stay halves under --dtype keep (and auto on WebGPU: that row), " +
        'else the weights load as float32 (the f32 row);',
    `  the KV cache as --kv-dtype ${KV_DTYPE_NAMES[kvDtype]} (f16 and bf16 take half of f32).`,
  ];
  return lines.join('\n');
}
