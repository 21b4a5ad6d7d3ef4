/**
 * `andes-train sample`: generate text from a saved model directory.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isLoadDtype, loadModel, modelFormatOf } from '@andes/checkpoint';
import { userMessage } from '@andes/cli';
import { generate, LlamaForCausalLM } from '@andes/nn';
import { ConfigError, parseField } from './config.js';
import { parseNumberFlag } from './number-flag.js';
import { selectBackend } from './pretrain.js';

/** Flags of `andes-train sample`, as strings from the command line. */
export interface SampleOptions {
  prompt?: string;
  maxNewTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  backend?: string;
  dtype?: string;
}

/** A model file (`.gguf`, llama2.c `.bin`), a model directory itself, or a run directory's `model/`. */
export function modelDirectoryOf(dir: string): string {
  if (modelFormatOf(dir) !== 'hf') return dir;
  if (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors'))) return dir;
  if (existsSync(join(dir, 'model', 'config.json'))) return join(dir, 'model');
  throw new ConfigError(
    `sample: ${JSON.stringify(dir)} is neither a model directory (config.json + model.safetensors) nor a run ` +
      'directory with a finished model/',
  );
}

/** Loads the model in `dir`, generates after `--prompt` and streams the text to stdout. Returns the full text. */
export async function runSample(dir: string, options: SampleOptions): Promise<string> {
  const maxNewTokens = parseNumberFlag('--max-new-tokens', options.maxNewTokens ?? '128', { integer: true, min: 0 });
  const temperature = parseNumberFlag('--temperature', options.temperature ?? '0.8', { min: 0 });
  const topK = parseNumberFlag('--top-k', options.topK ?? '0', { integer: true, min: 0 });
  const topP = parseNumberFlag('--top-p', options.topP ?? '1', { min: 0, max: 1, exclusiveMin: true });
  const seed = parseNumberFlag('--seed', options.seed ?? '0', { integer: true, min: 0 });
  const backend = parseField('backend', options.backend ?? 'auto', 'flag --backend');
  const dtype = options.dtype ?? 'auto';
  if (!isLoadDtype(dtype)) {
    throw new ConfigError(
      `flag --dtype: expected auto, keep, f32, f16, bf16, q8_0 or q4_0, got ${JSON.stringify(options.dtype)}`,
    );
  }
  const modelDir = modelDirectoryOf(dir);
  await selectBackend(backend);
  let loaded: Awaited<ReturnType<typeof loadModel>>;
  try {
    loaded = await loadModel(modelDir, { dtype });
  } catch (err) {
    throw new ConfigError(
      `sample: cannot load the model in ${modelDir}: ${userMessage((err as Error).message)}`,
      'the directory is damaged or incomplete: pass another model or run directory, or train again',
      { cause: err },
    );
  }
  const tokenizer = loaded.tokenizer;
  if (!tokenizer) throw new ConfigError(`sample: ${modelDir} has no tokenizer (tokenizer.model or tokenizer.json)`);
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  model.eval();
  const prompt = tokenizer.encode(options.prompt ?? '', { bos: true });
  const ids = [...prompt];
  let printed = tokenizer.decode(ids);
  process.stdout.write(printed);
  for await (const id of generate(model, prompt, { maxNewTokens, temperature, topK, topP, seed })) {
    ids.push(id);
    // Decode the whole sequence each time so multi-byte characters and SentencePiece spaces come out right.
    const text = tokenizer.decode(ids);
    process.stdout.write(text.slice(printed.length));
    printed = text;
  }
  process.stdout.write('\n');
  model.dispose();
  return printed;
}
