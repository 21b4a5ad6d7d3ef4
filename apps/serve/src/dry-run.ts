/**
 * `andes-serve --dry-run`: reads only the model's config and prints the memory it needs per storage type — weights
 * plus the KV cache for the slots × context the server would allocate — as llama.cpp and web-llm do before loading.
 *
 * @module
 */
import { modelMemoryTable, readModelConfig } from '@andes/checkpoint';
import { DTYPE_BYTES } from '@andes/tensor';
import { KV_DTYPE_NAMES, type KvDtype } from './llama-engine.js';

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
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
  const lines = [
    `andes-serve --dry-run: ${path}`,
    `  ${config.num_hidden_layers} layers, width ${config.hidden_size}, vocab ${config.vocab_size}; KV cache for ${slots} slots × ${positions} positions`,
    `  ${'dtype'.padEnd(8)}${'weights'.padStart(12)}${kv.padStart(12)}${'total'.padStart(12)}`,
    ...rows.map(
      (r) =>
        `  ${r.dtype.padEnd(8)}${gib(r.weightBytes).padStart(12)}${gib(r.kvBytes).padStart(12)}${gib(r.totalBytes).padStart(12)}`,
    ),
    `  The weights held in each type: a GGUF file's own under --dtype keep (the default), f32 under any other --dtype;`,
    `  the KV cache as --kv-dtype ${KV_DTYPE_NAMES[kvDtype]} (f16 and bf16 take half of f32).`,
  ];
  return lines.join('\n');
}
