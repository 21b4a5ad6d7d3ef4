/**
 * Worker thread of {@link TokenizePool}: loads the tokenizer once, then answers `{ id, texts }` with the token ids of
 * every text back to back and their lengths (transferred, not copied).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadTokenizer } from '@andes/tokenizer';
import { encodeBatch } from './encode-batch.js';

const tokenizer = await loadTokenizer((workerData as { tokenizerPath: string }).tokenizerPath);
parentPort!.on('message', (message: { id: number; texts: string[] }) => {
  const { tokens, lengths } = encodeBatch(tokenizer, message.texts);
  parentPort!.postMessage({ id: message.id, tokens, lengths }, [
    tokens.buffer as ArrayBuffer,
    lengths.buffer as ArrayBuffer,
  ]);
});
parentPort!.postMessage({ ready: true });
