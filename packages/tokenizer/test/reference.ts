// google's sentencepiece compiled to WASM (@agnai/sentencepiece-js), the reference we must match.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sentencepiece from '@agnai/sentencepiece-js';

/** Path of the real LLaMA 2 tokenizer, shared by all engineers; absent on some machines. */
export const llama2ModelPath = fileURLToPath(
  new URL('../../../../shared/fixtures/llama2-tokenizer.model', import.meta.url),
);
export const hasLlama2Model = existsSync(llama2ModelPath);
if (!hasLlama2Model)
  console.warn(`SKIP: LLaMA 2 tokenizer not found at ${llama2ModelPath}; reference tests are skipped`);

/** The reference processor, loaded from a model file. */
export interface ReferenceProcessor {
  encodeIds(text: string): number[];
  encodePieces(text: string): string[];
  decodeIds(ids: number[]): string;
}

export async function loadReference(path: string): Promise<ReferenceProcessor> {
  const p = new sentencepiece.SentencePieceProcessor();
  await p.load(path);
  return p as unknown as ReferenceProcessor;
}
