/**
 * Instruction examples as training rows: each conversation rendered with a chat template into token ids, with a
 * loss weight on the response tokens only — prompt, system and user turns get none, as Alpaca and Vicuna train —
 * and EOS ending every response. Rows are padded into batches whose targets are -100 (Hugging Face's ignore index)
 * wherever nothing is to be learnt, so each row is one example and no example attends another.
 *
 * @module
 */

import { mixSeed, SeededRandom } from '@andes/tensor';
import { applyChatTemplate, type ChatMessage, type ChatTemplateName, type Tokenizer } from '@andes/tokenizer';
import type { InstructionExample } from './instruction-formats.js';
import type { Batch } from './loader.js';
import { isValidationDocument } from './validation-split.js';

/** The target value that contributes no loss (PyTorch's and Hugging Face's default ignore index). */
export const IGNORE_INDEX = -100;

/** One rendered conversation. */
export interface RenderedExample {
  /** Token ids of the whole conversation. */
  ids: number[];
  /** 1 where `ids[i]` belongs to an assistant response (its text and closing EOS), else 0. */
  responseMask: Uint8Array;
  /** Where the example came from (`file:line`). */
  source: string;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * Renders one conversation with `template` and marks its response tokens. For each assistant turn k the prompt
 * (everything up to and including the assistant header, as a server would send it) and the conversation through
 * reply k are rendered; reply k's tokens are those after the prompt's common prefix with the full rendering, up to
 * the end of reply k. Templates close replies with EOS (llama-2, alpaca, vicuna) or `<|im_end|>` (chatml); when the
 * rendering does not end with EOS one is appended, weighted, so generation learns to stop.
 *
 * @param maxLength - truncate to this many tokens (the tail is dropped; the weights follow)
 */
export function renderInstructionExample(
  tokenizer: Tokenizer,
  example: InstructionExample,
  template: ChatTemplateName,
  maxLength = Number.POSITIVE_INFINITY,
): RenderedExample {
  const { messages } = example;
  const full = applyChatTemplate(tokenizer, messages, template, { addGenerationPrompt: false });
  const mask = new Uint8Array(full.length + 1);
  messages.forEach((m, k) => {
    if (m.role !== 'assistant') return;
    const before: ChatMessage[] = messages.slice(0, k);
    const prompt = applyChatTemplate(tokenizer, before, template, { addGenerationPrompt: true });
    const through = applyChatTemplate(tokenizer, messages.slice(0, k + 1), template, { addGenerationPrompt: false });
    const from = commonPrefix(prompt, full);
    const to = commonPrefix(through, full);
    mask.fill(1, from, Math.max(from, to));
  });
  const ids = [...full];
  let responseMask = mask.subarray(0, full.length);
  if (ids[ids.length - 1] !== tokenizer.eosId) {
    ids.push(tokenizer.eosId);
    responseMask = mask;
    responseMask[ids.length - 1] = 1;
  }
  if (ids.length > maxLength) {
    ids.length = maxLength;
    responseMask = responseMask.subarray(0, maxLength);
  }
  return { ids, responseMask: Uint8Array.from(responseMask), source: example.source };
}

/**
 * Pads rendered examples into one batch `[rows, T]` with T = the longest example minus one, rounded up to a multiple
 * of `multiple` (fewer distinct shapes to compile): `inputs` are the ids (then `padId`), `targets[b, t]` is
 * `ids[b][t + 1]` where that token is a response token, else {@link IGNORE_INDEX}.
 */
export function padInstructionBatch(examples: readonly RenderedExample[], padId: number, multiple = 1): Batch {
  if (examples.length === 0) throw new Error('padInstructionBatch: no examples');
  const longest = Math.max(...examples.map((e) => e.ids.length - 1));
  if (longest < 1) throw new Error('padInstructionBatch: every example needs at least two tokens');
  const seqLen = Math.ceil(longest / multiple) * multiple;
  const inputs = new Int32Array(examples.length * seqLen).fill(padId);
  const targets = new Int32Array(examples.length * seqLen).fill(IGNORE_INDEX);
  examples.forEach((e, b) => {
    for (let t = 0; t < e.ids.length - 1; t++) {
      inputs[b * seqLen + t] = e.ids[t] as number;
      if (e.responseMask[t + 1] === 1) targets[b * seqLen + t] = e.ids[t + 1] as number;
    }
  });
  return { inputs, targets, batchSize: examples.length, seqLen };
}

/** Splits examples into train and held-out sets by a hash of their content (stable when files are reordered). */
export function splitInstructionExamples<T extends { messages: ChatMessage[] }>(
  examples: readonly T[],
  validationFraction: number,
): { train: T[]; validation: T[] } {
  const train: T[] = [];
  const validation: T[] = [];
  for (const e of examples) {
    (isValidationDocument(JSON.stringify(e.messages), validationFraction) ? validation : train).push(e);
  }
  return { train, validation };
}

/** Where an {@link InstructionBatcher} is: JSON-able, saved with checkpoints. */
export type InstructionBatcherState = {
  /** Shuffle seed. */
  seed: number;
  /** Completed passes over the data. */
  epoch: number;
  /** Examples of the current pass already handed out. */
  index: number;
};

/**
 * Endless shuffled batches of rendered examples: each pass is a permutation seeded by (seed, epoch), so the state
 * `{ seed, epoch, index }` resumes exactly where a run stopped.
 */
export class InstructionBatcher {
  #state: InstructionBatcherState;
  #order: number[] = [];

  /**
   * @param examples - the training rows
   * @param batchSize - rows per batch
   * @param padId - token id of padding
   */
  constructor(
    readonly examples: readonly RenderedExample[],
    readonly batchSize: number,
    readonly padId: number,
    state: InstructionBatcherState = { seed: 0, epoch: 0, index: 0 },
    readonly multiple = 8,
  ) {
    if (examples.length === 0) throw new Error('InstructionBatcher: no training examples');
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`InstructionBatcher: bad batch size ${batchSize}`);
    this.#state = { ...state };
    this.#shuffle();
  }

  #shuffle(): void {
    this.#order = new SeededRandom(mixSeed(this.#state.seed, this.#state.epoch)).shuffle(
      this.examples.map((_, i) => i),
    );
  }

  /** The next batch (a pass that ends mid-batch continues into the next pass). */
  next(): Batch {
    const rows: RenderedExample[] = [];
    while (rows.length < this.batchSize) {
      if (this.#state.index >= this.#order.length) {
        this.#state = { ...this.#state, epoch: this.#state.epoch + 1, index: 0 };
        this.#shuffle();
      }
      rows.push(this.examples[this.#order[this.#state.index] as number] as RenderedExample);
      this.#state.index++;
    }
    return padInstructionBatch(rows, this.padId, this.multiple);
  }

  /** The position to save. */
  state(): InstructionBatcherState {
    return { ...this.#state };
  }
}
