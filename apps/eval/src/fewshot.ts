/**
 * Reproducible k-shot prompts, laid out as lm-evaluation-harness lays them out:
 * each shot is `context + " " + gold answer`, shots are joined by `"\n\n"` and followed by `"\n\n"` and the item.
 * @module
 */
import { seededUniform } from '@andes/tensor';
import type { TaskItem } from './task-file.js';

/** The harness's `target_delimiter`: between a context and its scored answer. */
export const TARGET_DELIMITER = ' ';
/** The harness's `fewshot_delimiter`: between shots, and between the last shot and the item. */
export const FEWSHOT_DELIMITER = '\n\n';

/** Mixes a run seed and an item index into one 32-bit seed, so each item's shots do not depend on `--limit`. */
export function itemSeed(seed: number, index: number): number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Draws `k` distinct items from `pool` (partial Fisher–Yates) with the generator seeded by `itemSeed(seed, index)`. */
export function sampleShots<T>(pool: readonly T[], k: number, seed: number, index: number): T[] {
  if (k === 0) return [];
  if (k > pool.length)
    throw new Error(`sampleShots: ${k} shots requested but the train split has ${pool.length} items`);
  const random = seededUniform(itemSeed(seed, index));
  const order = pool.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (order.length - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, k).map((i) => pool[i]!);
}

/** A solved example as it appears in a few-shot prompt: the item's context followed by its gold answer. */
export function renderShot(item: TaskItem): string {
  switch (item.kind) {
    case 'choice':
      return item.context + TARGET_DELIMITER + item.choices[item.label];
    case 'partial':
      return item.contexts[item.label] + TARGET_DELIMITER + item.continuation;
    case 'generation':
      return item.prompt + TARGET_DELIMITER + item.answers[0];
  }
}

/** The text placed before an item's context: the rendered shots and the delimiters, or '' for zero-shot. */
export function fewshotPrefix(shots: readonly TaskItem[]): string {
  if (shots.length === 0) return '';
  return shots.map(renderShot).join(FEWSHOT_DELIMITER) + FEWSHOT_DELIMITER;
}
