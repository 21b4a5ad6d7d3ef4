/**
 * What the HTTP layer needs from a loaded model: the engine, a tokenizer, the chat template, and its name.
 *
 * @module
 */
import type { Engine } from './engine.js';

/** The tokenizer operations the server uses (a subset of @andes/tokenizer's `Tokenizer`). */
export interface ServeTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  /** Text → ids, optionally with BOS/EOS. */
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
  /** Ids → text. */
  decode(ids: readonly number[]): string;
  /** An incremental decoder: `push(id)` returns only complete UTF-8 text; `flush()` returns what is left. */
  streamingDecoder(): { push(id: number): string; flush(): string };
  /** The exact UTF-8 bytes of a token inside a text (null for a skipped special token); used for logprobs. */
  tokenBytes?(id: number, isFirst: boolean, skipSpecialTokens: boolean): Uint8Array | null;
}

/** One chat message after content parts are joined into text. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A model ready to serve. */
export interface ServedModel {
  /** The name clients pass as `model` and `/v1/models` lists. */
  readonly id: string;
  /** Creation time reported by `/v1/models`, in Unix seconds. */
  readonly created: number;
  readonly engine: Engine;
  readonly tokenizer: ServeTokenizer;
  /** Token ids that end generation. */
  readonly eosIds: readonly number[];
  /**
   * The chat template's name, or null for a base model whose directory declares none (chat requests then use the
   * llama-2 format, which a model pretrained on plain text has never seen). `/v1/models` reports it so a client
   * (the chat page) can say what kind of model it talks to.
   */
  readonly chatTemplate?: string | null;
  /** Renders messages with the model's chat template (plus the assistant's generation prompt) to prompt ids. */
  renderChat(messages: readonly ChatMessage[], addGenerationPrompt?: boolean): number[];
}
