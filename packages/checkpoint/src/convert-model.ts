/**
 * `andes-convert`'s work, without the CLI: read a model in any format, write it in the format the output path
 * names, and optionally run one prompt through both to report the largest logit difference.
 *
 * @module
 */
import { LlamaForCausalLM } from '@andes/nn';
import { noGrad, tensor } from '@andes/tensor';
import { loadModel, modelFormatOf, saveModel } from './load-model.js';
import type { LoadedModel, ModelFormat } from './loaded-model.js';
import type { WeightDtype } from './weight-dtype.js';

/** Node's file system, loaded on first use: the main entry stays importable in browsers. */
const nodeFs = () => import('node:fs/promises');

/** Options of {@link convertModel}. */
export interface ConvertOptions {
  /** Storage type of the output's matrices; default `f32`. */
  dtype?: WeightDtype;
  /** Prompt for {@link verifyConversion}; also run when given here with `verify`. */
  verify?: boolean;
  /** The verification prompt (default: a short English sentence). */
  prompt?: string;
}

/** What {@link convertModel} did. */
export interface ConvertReport {
  /** Input format. */
  from: ModelFormat;
  /** Output format. */
  to: ModelFormat;
  /** Number of tensors written. */
  tensors: number;
  /** Bytes of the output (file, or the directory's model.safetensors). */
  bytes: number;
  /** What the output format could not store. */
  warnings: string[];
  /** Largest |logit difference| over the prompt, when verified. */
  maxLogitDiff?: number;
  /** Prompt tokens the verification ran. */
  verifyTokens?: number;
}

/**
 * Converts `input` to `output` (formats by name: `.gguf`, `.bin`, else a Hugging Face directory). The model is held
 * once, in float32, while it is written tensor by tensor.
 *
 * @example await convertModel('runs/default/model', 'model.q8_0.gguf', { dtype: 'q8_0', verify: true });
 */
export async function convertModel(
  input: string,
  output: string,
  options: ConvertOptions = {},
): Promise<ConvertReport> {
  const source = await loadModel(input);
  const warnings = await saveModel(output, {
    config: source.config,
    stateDict: source.tensors,
    tokenizer: source.tokenizer,
    dtype: options.dtype,
    chatTemplate: source.chatTemplate,
  });
  if (!source.tokenizer) warnings.push(`${input} has no tokenizer; ${output} has none either`);
  const to = modelFormatOf(output);
  const size = await (await nodeFs()).stat(to === 'hf' ? `${output}/model.safetensors` : output);
  const report: ConvertReport = {
    from: source.format,
    to,
    tensors: source.tensors.size,
    bytes: size.size,
    warnings,
  };
  if (options.verify) {
    const result = await loadModel(output);
    Object.assign(report, await verifyConversion(source, result, options.prompt));
  }
  return report;
}

/** Float32 logits `[T, V]` of `ids` through a freshly built model. */
async function logitsOf(loaded: LoadedModel, ids: number[]): Promise<Float32Array> {
  // Built empty (each weight allocated once, as loaded); not fromWeights, which would consume `loaded`.
  const model = new LlamaForCausalLM(loaded.config, { empty: true });
  model.loadStateDict(loaded.tensors);
  try {
    return await noGrad(async () => {
      const input = tensor(new Int32Array(ids), [1, ids.length], { dtype: 'int32' });
      const out = model.forward(input);
      const values = Float32Array.from((await out.data()) as Float32Array);
      out.dispose();
      input.dispose();
      return values;
    });
  } finally {
    model.dispose();
  }
}

/**
 * Runs one prompt through two loaded models (the source and the converted one) on the current backend and returns
 * the largest absolute logit difference. The prompt is tokenized with the source's tokenizer (or, without one, a
 * fixed id sequence is used).
 */
export async function verifyConversion(
  source: LoadedModel,
  result: LoadedModel,
  prompt = 'Once upon a time, there was a little',
): Promise<{ maxLogitDiff: number; verifyTokens: number }> {
  const vocab = source.config.vocab_size;
  const ids = source.tokenizer
    ? Array.from(source.tokenizer.encode(prompt, { bos: true }))
    : Array.from({ length: 8 }, (_, i) => (i * 7919 + 1) % vocab);
  const limit = Math.min(source.config.max_position_embeddings, result.config.max_position_embeddings);
  const run = ids.slice(0, limit);
  const a = await logitsOf(source, run);
  const b = await logitsOf(result, run);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return { maxLogitDiff: max, verifyTokens: run.length };
}
