/**
 * LLaMA GGUF files of any shape with random weights, written tensor by tensor: memory and speed measurements of
 * big models (a LLaMA-7B-shaped Q4_0 or F16 file) without downloading one and without ever holding a float32 model.
 *
 * @module
 */
import { type LlamaConfig, LlamaForCausalLM } from '@andes/nn';
import { type GgmlWritableType, quantize, SeededRandom } from '@andes/tensor';
import type { Tokenizer } from '@andes/tokenizer';
import { ggufTensorName, llamaMetadata } from './gguf-llama.js';
import type { GgufValue } from './gguf-metadata.js';
import { ggufFileType } from './gguf-model.js';
import { ggufTokenizerMetadata } from './gguf-tokenizer.js';
import { type GgufTensorSource, writeGguf } from './gguf-writer.js';
import { ggmlTypeFor, type WeightDtype } from './weight-dtype.js';

/** Options of {@link saveRandomGgufModel}. */
export interface RandomGgufOptions {
  /** The model's shape. */
  config: LlamaConfig;
  /** Storage type of the matrices (norms are F32). */
  dtype: WeightDtype;
  /** Seed of the values (default 0). */
  seed?: number;
  /** Standard deviation of the matrices' values (uniform, default 0.02); norm weights are 1. */
  std?: number;
  /** Tokenizer to embed, e.g. LLaMA 2's for a LLaMA-7B-shaped file (its size must be the config's vocabulary). */
  tokenizer?: Tokenizer;
}

/**
 * Writes a LLaMA GGUF file of `config`'s shape with random weights, streaming. Per distinct (shape, type), one
 * random matrix is encoded once; each tensor of that shape is that encoding with its rows rotated by a per-tensor
 * amount (so tensors differ, and the writer holds one encoding per shape instead of generating billions of values).
 * Peak memory: the largest matrix's float32 values once, plus one encoding per distinct shape.
 *
 * @example
 * await saveRandomGgufModel('llama-7b.q4_0.gguf', { config: llamaConfig({ ...7B }), dtype: 'q4_0', tokenizer });
 */
export async function saveRandomGgufModel(path: string, options: RandomGgufOptions): Promise<void> {
  const { config, dtype } = options;
  if (options.tokenizer && options.tokenizer.vocabSize !== config.vocab_size) {
    throw new Error(
      `saveRandomGgufModel ${path}: the tokenizer has ${options.tokenizer.vocabSize} pieces, the config's vocab_size is ${config.vocab_size}`,
    );
  }
  const metadata = llamaMetadata(config, (path.split(/[/]/).pop() ?? path).replace(/\.gguf$/i, ''));
  metadata.set('general.file_type', { type: 'u32', value: ggufFileType[dtype] });
  if (options.tokenizer) for (const [k, v] of ggufTokenizerMetadata(options.tokenizer)) metadata.set(k, v);
  const encodings = new Map<string, Uint8Array>();
  const encodingOf = (shape: readonly number[], type: GgmlWritableType): Uint8Array => {
    const key = `${type} ${shape.join('x')}`;
    let bytes = encodings.get(key);
    if (bytes === undefined) {
      const rng = new SeededRandom((options.seed ?? 0) ^ (encodings.size * 0x9e3779b1));
      // Uniform on [-a, a] has std a/√3.
      const a = (options.std ?? 0.02) * Math.sqrt(3);
      const values = new Float32Array(shape.reduce((x, y) => x * y, 1));
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * a;
      bytes = quantize(type, values);
      encodings.set(key, bytes);
    }
    return bytes;
  };
  const tensors: GgufTensorSource[] = [];
  for (const [name, shape] of parameterShapes(config)) {
    const ggufName = ggufTensorName(name) as string;
    const type = ggmlTypeFor(shape, dtype);
    const index = tensors.length;
    tensors.push({
      name: ggufName,
      shape,
      type,
      data: () => {
        if (shape.length === 1) return quantize(type, new Float32Array(shape[0] as number).fill(1));
        const encoded = encodingOf(shape, type);
        const rows = shape[0] as number;
        const rowBytes = encoded.byteLength / rows;
        const cut = ((index * 7919) % rows) * rowBytes;
        const out = new Uint8Array(encoded.byteLength);
        out.set(encoded.subarray(cut));
        out.set(encoded.subarray(0, cut), encoded.byteLength - cut);
        return out;
      },
    });
  }
  await writeGguf(path, { metadata: metadata as Map<string, GgufValue>, tensors });
}

/** Every parameter of a `config`-shaped model by Hugging Face name, from a model built without weights. */
function parameterShapes(config: LlamaConfig): Array<[string, readonly number[]]> {
  const model = new LlamaForCausalLM(config, { empty: true });
  try {
    const loaded = model.namedParameters().map(([name, p]): [string, readonly number[]] => [name, [...p.shape]]);
    return [...model.namedUnloadedParameters(), ...loaded];
  } finally {
    model.dispose();
  }
}
