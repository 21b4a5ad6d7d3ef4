// The playground's entry: choose the backend (said on screen), build the built-in model, wire the three tabs.
import type { SentencePieceTokenizer } from '@andes/tokenizer';
import { chooseBackend } from './backend-choice.js';
import { builtinTokenizer, nanoModel } from './builtin-model.js';
import { byId } from './dom.js';
import { builtinNote, setupGenerateView } from './generate-view.js';
import type { OpenModel } from './model-source.js';
import { setupTokenizeView } from './tokenize-view.js';
import { setupTrainView } from './train-view.js';

function setupTabs(onShow: (name: string) => void): void {
  const names = ['generate', 'train', 'tokenize'];
  for (const name of names) {
    byId(`tab-${name}`).addEventListener('click', () => {
      for (const other of names) {
        byId(`tab-${other}`).setAttribute('aria-selected', String(other === name));
        byId(`view-${other}`).hidden = other !== name;
      }
      onShow(name);
    });
  }
}

async function main(): Promise<void> {
  const status = byId('backend-status');
  const info = await chooseBackend(new URLSearchParams(location.search));
  status.textContent = info.description;
  status.dataset.backend = info.backend;
  status.dataset.state = 'ready';

  let tokenizer: SentencePieceTokenizer | undefined;
  const getTokenizer = async () => {
    tokenizer ??= await builtinTokenizer();
    return tokenizer;
  };
  let builtin: OpenModel | undefined;
  const getBuiltin = async () => {
    builtin ??= { name: 'built-in', model: nanoModel(await getTokenizer()).eval(), tokenizer: await getTokenizer() };
    return builtin;
  };
  const generateView = setupGenerateView(getBuiltin);
  const tokenizeView = setupTokenizeView(() => generateView.current()?.tokenizer);
  setupTrainView(getTokenizer, generateView);
  setupTabs((name) => {
    if (name === 'tokenize') tokenizeView.refresh();
  });
  generateView.use(await getBuiltin(), builtinNote);
  tokenizeView.refresh();
}

main().catch((e) => {
  const status = byId('backend-status');
  status.textContent = `The playground failed to start: ${(e as Error).message}`;
  status.dataset.state = 'error';
});
