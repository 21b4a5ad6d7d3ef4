/**
 * Opening a model from files a person picked or dropped: a model directory's files (as `andes-train` writes them), or
 * a `.zip` of one (as the Train tab downloads it), a llama.cpp `.gguf`, or a llama2.c `.bin` (with its `tokenizer.bin`
 * picked beside it) — the last two through {@link singleFileModel}.
 *
 * @module
 */
import {
  encodeModelDir,
  type LoadedModel,
  type LoadedModelDir,
  loadGgufModelBytes,
  loadLlama2cModelBytes,
  loadModelFiles,
  modelFilesFromMap,
} from '@andes/checkpoint';
import { LlamaForCausalLM } from '@andes/nn';
import type { ChatTemplateName, Tokenizer } from '@andes/tokenizer';
import { unzipSync, zipSync } from 'fflate';

/** A model ready to generate with, and where it came from. */
export interface OpenModel {
  /** Shown on the page: "built-in", a folder name, a file name. */
  name: string;
  model: LlamaForCausalLM;
  tokenizer: Tokenizer;
  /** The chat template the model directory names (`tokenizer_config.json`), if any. */
  chatTemplate?: ChatTemplateName;
}

/** A picked file: its name (with the folder for a directory pick) and its bytes on demand. */
export interface PickedFile {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Reads a `.gguf` (weights and embedded tokenizer) or a llama2.c `.bin` checkpoint from picked bytes, dequantized to
 * float32 as Node's `loadModel` does. A `.bin` carries no tokenizer: pick its `tokenizer.bin` with it.
 */
export async function singleFileModel(file: PickedFile, tokenizerBin?: PickedFile): Promise<LoadedModelDir> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let loaded: LoadedModel;
  if (/\.gguf$/i.test(file.name)) loaded = await loadGgufModelBytes(file.name, bytes);
  else {
    if (!tokenizerBin) {
      throw new Error(
        `${file.name}: a llama2.c model has no tokenizer inside; pick its tokenizer.bin together with it`,
      );
    }
    loaded = await loadLlama2cModelBytes(file.name, bytes, {
      tokenizerBin: new Uint8Array(await tokenizerBin.arrayBuffer()),
    });
  }
  const dir: LoadedModelDir = {
    config: loaded.config,
    tensors: loaded.tensors,
    rawConfig: { ...loaded.config },
  };
  if (loaded.tokenizer) dir.tokenizer = loaded.tokenizer;
  if (loaded.chatTemplate) dir.chatTemplate = loaded.chatTemplate;
  return dir;
}

/** Turns the picked files into a loaded model directory (config, float32 weights, tokenizer). */
export async function loadPickedFiles(files: readonly PickedFile[]): Promise<{ name: string; loaded: LoadedModelDir }> {
  if (files.length === 0) throw new Error('no files picked');
  const first = files[0]!;
  const baseName = (f: PickedFile) => f.name.slice(f.name.lastIndexOf('/') + 1);
  if (files.length === 1 && /\.gguf$/i.test(first.name)) {
    return { name: baseName(first), loaded: await singleFileModel(first) };
  }
  const bins = files.filter((f) => /\.bin$/i.test(f.name));
  if (files.length <= 2 && bins.length === files.length) {
    const model = bins.find((f) => baseName(f) !== 'tokenizer.bin');
    if (model) {
      const tokenizer = bins.find((f) => baseName(f) === 'tokenizer.bin');
      return { name: baseName(model), loaded: await singleFileModel(model, tokenizer) };
    }
  }
  if (files.length === 1 && /\.zip$/i.test(first.name)) {
    const entries = unzipSync(new Uint8Array(await first.arrayBuffer()));
    const map = new Map(Object.entries(entries).filter(([path]) => !path.endsWith('/')));
    return { name: first.name, loaded: await loadModelFiles(modelFilesFromMap(first.name, map)) };
  }
  const folder = first.name.includes('/') ? first.name.slice(0, first.name.indexOf('/')) : 'model';
  const map = new Map(files.map((f) => [f.name, f] as const));
  if (![...map.keys()].some((n) => n.endsWith('config.json'))) {
    throw new Error(`${folder}: no config.json among ${files.length} picked file(s); pick the whole model directory`);
  }
  return { name: folder, loaded: await loadModelFiles(modelFilesFromMap(folder, map)) };
}

/** Builds the model of a loaded directory; it must carry a tokenizer, since the page generates text. */
export function modelFromLoaded(name: string, loaded: LoadedModelDir): OpenModel {
  if (!loaded.tokenizer) throw new Error(`${name}: the model directory has no tokenizer.model or tokenizer.json`);
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  model.eval();
  const open: OpenModel = { name, model, tokenizer: loaded.tokenizer };
  if (loaded.chatTemplate) open.chatTemplate = loaded.chatTemplate;
  return open;
}

/** A model directory as a zip (entries under `folder/`), as `andes-serve --model <unzipped folder>` loads it. */
export async function zipModel(open: OpenModel, folder = 'model'): Promise<Uint8Array> {
  const files = await encodeModelDir({
    config: open.model.config,
    model: open.model,
    tokenizer: open.tokenizer as Parameters<typeof encodeModelDir>[0]['tokenizer'],
    ...(open.chatTemplate ? { chatTemplate: open.chatTemplate } : {}),
  });
  const entries: Record<string, Uint8Array> = {};
  for (const [name, bytes] of files) entries[`${folder}/${name}`] = bytes;
  return zipSync(entries, { level: 6 });
}
