// The Generate tab: pick a model (built-in, trained in the Train tab, or opened from disk), then stream tokens with
// temperature / top-p / max tokens, optionally through the model's chat template, with tokens per second shown.
import { generate } from '@andes/nn';
import { applyChatTemplate, StreamingDecoder } from '@andes/tokenizer';
import { byId, numberField } from './dom.js';
import { loadPickedFiles, modelFromLoaded, type OpenModel, type PickedFile } from './model-source.js';

/** The Generate view's hooks for the rest of the page. */
export interface GenerateView {
  /** Makes `model` the one to generate with; `note` explains it on the page. */
  use(model: OpenModel, note: string): void;
  /** The model in use, if any. */
  current(): OpenModel | undefined;
}

/** A dropped or picked `File` under the name a model directory knows it by (with its folder, if any). */
function picked(file: File): PickedFile {
  const name = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
  return { name, arrayBuffer: () => file.arrayBuffer() };
}

/** Wires the Generate tab; `builtin` builds the built-in model on demand. */
export function setupGenerateView(builtin: () => Promise<OpenModel>): GenerateView {
  let active: OpenModel | undefined;
  let stopRequested = false;
  const output = byId<HTMLPreElement>('output');
  const stats = byId('gen-stats');
  const error = byId('model-error');
  const button = byId<HTMLButtonElement>('generate');
  const stop = byId<HTMLButtonElement>('stop-generate');

  const view: GenerateView = {
    use(model, note) {
      if (active && active !== model && active.name !== 'built-in') active.model.dispose();
      active = model;
      byId('model-name').textContent = model.name;
      byId('model-note').textContent = note;
      byId('model-name').dataset.ready = 'true';
      byId<HTMLInputElement>('chat-mode').disabled = false;
      button.disabled = false;
    },
    current: () => active,
  };

  const open = async (files: PickedFile[]) => {
    error.textContent = '';
    byId('model-name').dataset.ready = 'false';
    byId('model-name').textContent = `opening ${files.length} file(s)…`;
    try {
      const { name, loaded } = await loadPickedFiles(files);
      const template = loaded.chatTemplate ? `chat template ${loaded.chatTemplate}` : 'no chat template';
      view.use(
        modelFromLoaded(name, loaded),
        `(opened from disk: ${loaded.config.num_hidden_layers} layers, ${template})`,
      );
    } catch (e) {
      error.textContent = (e as Error).message;
      byId('model-name').textContent = active?.name ?? 'none';
      byId('model-name').dataset.ready = active ? 'true' : 'false';
    }
  };
  for (const id of ['model-dir', 'model-files']) {
    const input = byId<HTMLInputElement>(id);
    input.addEventListener('change', () => void open([...(input.files ?? [])].map(picked)));
  }
  const zone = byId('drop-zone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    void open([...(e.dataTransfer?.files ?? [])].map(picked));
  });
  byId('use-builtin').addEventListener('click', async () => view.use(await builtin(), builtinNote));

  stop.addEventListener('click', () => {
    stopRequested = true;
  });
  button.addEventListener('click', async () => {
    if (!active) return;
    const { model, tokenizer } = active;
    error.textContent = '';
    let settings: { temperature: number; topP: number; maxNewTokens: number };
    try {
      settings = {
        temperature: numberField('temperature', 0, 2),
        topP: numberField('top-p', 0, 1),
        maxNewTokens: numberField('max-tokens', 1, 4096),
      };
    } catch (e) {
      error.textContent = (e as Error).message;
      return;
    }
    const text = byId<HTMLTextAreaElement>('prompt').value;
    const chat = byId<HTMLInputElement>('chat-mode').checked;
    const prompt = chat
      ? applyChatTemplate(tokenizer, [{ role: 'user', content: text }], active.chatTemplate ?? 'llama-2')
      : tokenizer.encode(text, { bos: true });
    const room = model.config.max_position_embeddings - prompt.length;
    const maxNewTokens = Math.min(settings.maxNewTokens, room);
    if (maxNewTokens <= 0) {
      error.textContent = `the prompt has ${prompt.length} tokens; the model's context is ${model.config.max_position_embeddings}`;
      return;
    }
    button.disabled = true;
    stop.disabled = false;
    stopRequested = false;
    output.textContent = chat ? '' : text;
    output.dataset.state = 'streaming';
    const ids: number[] = [];
    const decoder = new StreamingDecoder(tokenizer);
    const started = performance.now();
    let firstAt = 0;
    try {
      for await (const id of generate(model, prompt, { ...settings, maxNewTokens, seed: Date.now() % 1e9 })) {
        if (ids.length === 0) firstAt = performance.now();
        ids.push(id);
        output.textContent += decoder.push(id);
        const seconds = (performance.now() - firstAt) / 1000;
        const rate = ids.length > 1 && seconds > 0 ? ((ids.length - 1) / seconds).toFixed(1) : '…';
        stats.textContent = `${ids.length} tokens · ${rate} tokens/s · first token after ${(firstAt - started).toFixed(0)} ms`;
        if (stopRequested) break;
      }
      output.textContent += decoder.flush();
    } catch (e) {
      error.textContent = (e as Error).message;
    } finally {
      output.dataset.ids = JSON.stringify(ids);
      output.dataset.firstTokenMs = firstAt ? (firstAt - started).toFixed(1) : '';
      output.dataset.state = 'done';
      button.disabled = false;
      stop.disabled = true;
    }
  });
  return view;
}

/** What the page says about the built-in model. */
export const builtinNote =
  '(untrained: random nano weights from seed 0, so its text is gibberish; train one in the Train tab or open a model directory)';
