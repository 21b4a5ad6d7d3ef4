// The benchmark's tokenizer: LLaMA 2's SentencePiece model (vocab 32000, the stories-15m shape) when the shared
// fixture is present, else a small BPE trained on the fly (then the model's vocabulary follows the tokenizer).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTokenizer } from '@andes/tokenizer';

// The shared fixture sits beside the checkout (../shared from the repository root); a git worktree one level deeper
// (…/wt/<name>) finds it one more level up. BENCH_TOKENIZER names another SentencePiece model.
const CANDIDATES = [
  process.env.BENCH_TOKENIZER,
  resolve(import.meta.dirname, '../../../../shared/fixtures/llama2-tokenizer.model'),
  resolve(import.meta.dirname, '../../../../../shared/fixtures/llama2-tokenizer.model'),
].filter(Boolean);
const FIXTURE = CANDIDATES.find((p) => existsSync(p)) ?? CANDIDATES.at(-1);

/** Loads or trains the benchmark tokenizer. */
export async function benchTokenizer() {
  if (existsSync(FIXTURE)) return loadTokenizer(FIXTURE);
  console.log(`(no ${FIXTURE}: training a small BPE tokenizer instead; vocab differs from stories-15m)`);
  const { trainBpe } = await import('@andes/tokenizer');
  const text = 'Once upon a time there was a little girl who liked to play in the park with her dog. '.repeat(200);
  return trainBpe([text], { vocabSize: 512 });
}
