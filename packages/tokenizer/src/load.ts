import { parseTokenizerJson } from './hf-tokenizer.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * Loads a tokenizer from a file path (Node) or from the file's bytes. The format is sniffed from
 * the content: a JSON object is a Hugging Face `tokenizer.json`, anything else is parsed as a
 * SentencePiece `tokenizer.model` protobuf. Malformed files throw an error naming the byte
 * offset (protobuf) or the field path (JSON).
 *
 * @example
 * const tok = await loadTokenizer('tokenizer.model');
 * tok.encode('Hello world', { bos: true }); // [1, 15043, 3186] with LLaMA 2's model
 */
export async function loadTokenizer(source: string | Uint8Array | ArrayBuffer): Promise<Tokenizer> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    const { readFileBytes } = await import('./node.js');
    bytes = await readFileBytes(source);
  } else bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  return tokenizerFromBytes(bytes, typeof source === 'string' ? source : 'bytes');
}

/** Synchronous {@link loadTokenizer} for bytes already in memory; `name` is used in error messages. */
export function tokenizerFromBytes(bytes: Uint8Array, name = 'bytes'): Tokenizer {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (i < bytes.length && bytes[i] === 0x7b /* '{' */) {
    return loadJsonTokenizer(new TextDecoder().decode(bytes), name);
  }
  try {
    return SentencePieceTokenizer.fromBytes(bytes);
  } catch (err) {
    throw new Error(`loadTokenizer(${name}): not a valid tokenizer.model: ${(err as Error).message}`, { cause: err });
  }
}

function loadJsonTokenizer(text: string, name: string): Tokenizer {
  try {
    return parseTokenizerJson(text);
  } catch (err) {
    throw new Error(`loadTokenizer(${name}): ${(err as Error).message}`, { cause: err });
  }
}
