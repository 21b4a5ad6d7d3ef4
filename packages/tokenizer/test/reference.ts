// google's sentencepiece compiled to WASM (@agnai/sentencepiece-js), the reference we must match.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sentencepiece from '@agnai/sentencepiece-js';

/** Path of the real LLaMA 2 tokenizer, shared by all engineers; absent on some machines. */
export const llama2ModelPath = process.env.ANDES_LLAMA2_TOKENIZER ?? findModel();
export const hasLlama2Model = existsSync(llama2ModelPath);

// `shared/` sits beside the repo root; searched upwards so compiled bench code finds it too.
function findModel(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'shared', 'fixtures', 'llama2-tokenizer.model');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join('..', 'shared', 'fixtures', 'llama2-tokenizer.model');
}
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
