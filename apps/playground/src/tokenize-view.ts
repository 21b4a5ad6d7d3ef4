// The Tokenize tab: text → pieces and ids, with the current model's tokenizer or one loaded from a file
// (`tokenizer.model` or `tokenizer.json`, e.g. LLaMA 2's).
import { loadTokenizer, type Tokenizer } from '@andes/tokenizer';
import { byId } from './dom.js';

/** Wires the Tokenize tab; `modelTokenizer` is the Generate tab's current tokenizer. */
export function setupTokenizeView(modelTokenizer: () => Tokenizer | undefined): { refresh(): void } {
  let fromFile: { name: string; tokenizer: Tokenizer } | undefined;
  const text = byId<HTMLTextAreaElement>('tok-text');
  const error = byId('tok-error');
  const refresh = () => {
    const tokenizer = fromFile?.tokenizer ?? modelTokenizer();
    byId('tok-name').textContent = fromFile ? fromFile.name : "the model's";
    const pieces = byId('tok-pieces');
    if (!tokenizer) {
      byId('tok-summary').textContent = 'no tokenizer yet';
      return;
    }
    const ids = tokenizer.encode(text.value, { bos: true });
    pieces.replaceChildren(
      ...ids.map((id) => {
        const span = document.createElement('span');
        span.textContent = tokenizer.idToPiece(id);
        span.title = `id ${id}`;
        return span;
      }),
    );
    byId('tok-ids').textContent = JSON.stringify(ids);
    byId('tok-summary').textContent =
      `${ids.length} tokens (with BOS) for ${text.value.length} characters · vocabulary ${tokenizer.vocabSize}`;
  };
  text.addEventListener('input', refresh);
  const file = byId<HTMLInputElement>('tok-file');
  file.addEventListener('change', async () => {
    const picked = file.files?.[0];
    if (!picked) return;
    error.textContent = '';
    try {
      fromFile = { name: picked.name, tokenizer: await loadTokenizer(new Uint8Array(await picked.arrayBuffer())) };
    } catch (e) {
      error.textContent = `${picked.name}: ${(e as Error).message}`;
    }
    refresh();
  });
  return { refresh };
}
