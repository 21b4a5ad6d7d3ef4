/**
 * `andes-serve --dry-run`: reads only the model's config and prints the memory it needs per storage type — weights
 * plus the KV cache for the slots × context the server would allocate — as llama.cpp and web-llm do before loading.
 *
 * @module
 */
import { modelMemoryTable, readModelConfig } from '@andes/checkpoint';

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * The dry-run report for `path` (GGUF, llama2.c `.bin` or Hugging Face directory) with `slots` sequences of
 * `context` positions (default: the model's `max_position_embeddings`).
 */
export async function dryRunReport(path: string, slots: number, context?: number): Promise<string> {
  const config = await readModelConfig(path);
  const positions = context ?? config.max_position_embeddings;
  const rows = modelMemoryTable(config, slots * positions, 2);
  const f32 = modelMemoryTable(config, slots * positions, 4)[0]!;
  const lines = [
    `andes-serve --dry-run: ${path}`,
    `  ${config.num_hidden_layers} layers, width ${config.hidden_size}, vocab ${config.vocab_size}; KV cache for ${slots} slots × ${positions} positions`,
    `  ${'dtype'.padEnd(8)}${'weights'.padStart(12)}${'KV (f16)'.padStart(12)}${'total'.padStart(12)}`,
    ...rows.map(
      (r) =>
        `  ${r.dtype.padEnd(8)}${gib(r.weightBytes).padStart(12)}${gib(r.kvBytes).padStart(12)}${gib(r.totalBytes).padStart(12)}`,
    ),
    `  Andes computes in float32 today: weights are dequantized to f32 at load and the KV cache is f32, so this server needs ${gib(f32.totalBytes)} (${gib(f32.weightBytes)} + ${gib(f32.kvBytes)}).`,
  ];
  return lines.join('\n');
}
