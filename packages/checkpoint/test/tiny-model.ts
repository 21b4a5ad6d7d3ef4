/**
 * Test helper: a tiny random LLaMA with a trained SentencePiece tokenizer (byte fallback, as llama.cpp expects),
 * shaped so every matrix row is whole Q8_0/Q4_0 blocks, plus float32 logits of a prompt on the CPU backend, and the
 * setup the GGUF model tests share ({@link tinyGgufSetup}).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LlamaConfig, type LlamaConfigInput, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { noGrad, setBackend, tensor } from '@andes/tensor';
import { type SentencePieceTokenizer, trainBpe } from '@andes/tokenizer';
import { afterAll, beforeAll } from 'vitest';

const corpus = [
  'Once upon a time there was a little robot who liked to read books about the sea.',
  'The robot sailed across the sea and found an island full of birds and trees.',
  'Every morning the birds sang, and the little robot wrote their songs in a book.',
];

/** A trained tokenizer with a vocabulary of 320. */
export function tinyTokenizer(): Promise<SentencePieceTokenizer> {
  return trainBpe(corpus, { vocabSize: 320 }) as Promise<SentencePieceTokenizer>;
}

/** A random model over `tokenizer`'s vocabulary; weights large enough (std 0.05) that greedy choices are clear
 * (top-2 margins ~0.08) while the logits stay smooth in the weights. */
export function tinyModel(vocabSize: number, overrides: Partial<LlamaConfigInput> = {}, seed = 7): LlamaForCausalLM {
  const config: LlamaConfig = llamaConfig({
    vocab_size: vocabSize,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    initializer_range: 0.05,
    ...overrides,
  });
  return new LlamaForCausalLM(config, { seed });
}

/** Float32 logits `[ids.length, vocab]` (row-major) of one sequence. */
export async function logitsOf(model: LlamaForCausalLM, ids: readonly number[]): Promise<Float32Array> {
  return noGrad(async () => {
    const input = tensor(new Int32Array(ids), [1, ids.length], { dtype: 'int32' });
    const out = model.forward(input);
    const values = Float32Array.from((await out.data()) as Float32Array);
    out.dispose();
    input.dispose();
    return values;
  });
}

/** Greedy continuation of `prompt` by `steps` tokens, recomputing the full forward each step (a simple oracle). */
export async function greedyTokens(model: LlamaForCausalLM, prompt: readonly number[], steps: number) {
  const ids = [...prompt];
  const margins: number[] = [];
  const vocab = model.config.vocab_size;
  for (let s = 0; s < steps; s++) {
    const logits = await logitsOf(model, ids);
    const last = logits.subarray((ids.length - 1) * vocab, ids.length * vocab);
    let best = 0;
    for (let i = 1; i < vocab; i++) if (last[i]! > last[best]!) best = i;
    let second = -Infinity;
    for (let i = 0; i < vocab; i++) if (i !== best && last[i]! > second) second = last[i]!;
    margins.push(last[best]! - second);
    ids.push(best);
  }
  return { tokens: ids.slice(prompt.length), minMargin: Math.min(...margins) };
}

/** Largest absolute difference of two arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** What the GGUF model tests share; the fields are set by the `beforeAll` hook of {@link tinyGgufSetup}. */
export interface TinyGgufSetup {
  /** A temporary directory for the test's files, removed after the file's tests. */
  dir: string;
  /** {@link tinyTokenizer}. */
  tokenizer: SentencePieceTokenizer;
  /** {@link tinyModel} over the tokenizer's vocabulary (seed 7). */
  model: LlamaForCausalLM;
  /** "Once upon a time the robot" encoded with BOS. */
  prompt: number[];
}

/**
 * Registers the hooks of a GGUF model test file: before its tests, the CPU backend, a temporary directory named
 * `andes-<name>-…`, the tiny tokenizer, model and prompt; after them, the directory is removed. Read the fields inside
 * tests (they are set in `beforeAll`).
 */
export function tinyGgufSetup(name: string): TinyGgufSetup {
  const setup = {} as TinyGgufSetup;
  beforeAll(async () => {
    await setBackend('cpu');
    setup.dir = await mkdtemp(join(tmpdir(), `andes-${name}-`));
    setup.tokenizer = await tinyTokenizer();
    setup.model = tinyModel(setup.tokenizer.vocabSize);
    setup.prompt = Array.from(setup.tokenizer.encode('Once upon a time the robot', { bos: true }));
  });
  afterAll(() => rm(setup.dir, { recursive: true, force: true }));
  return setup;
}
