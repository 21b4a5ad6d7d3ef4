/**
 * Storage types of model weights across formats (`--dtype`), and which ggml type each tensor gets: like llama.cpp,
 * only matrices are quantized (norm vectors stay F32), and a matrix whose rows are not whole 32-element blocks falls
 * back to F16.
 *
 * @module
 */
import { dequantize, type GgmlWritableType, getBackend, quantize } from '@andes/tensor';

/** Weight storage types a model can be written in or rounded to at load. */
export type WeightDtype = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';

/** All {@link WeightDtype}s, for flag validation. */
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'];

/**
 * What the apps' `--dtype` takes: a {@link WeightDtype} to round every matrix through at load (computed in float32),
 * `keep` (a GGUF's half and quantized matrices held and computed in their types), or `auto` (the default: `keep`,
 * except that on the CPU backend F16 and BF16 matrices widen to float32).
 */
export type LoadDtype = WeightDtype | 'keep' | 'auto';

/** Whether `x` names a {@link LoadDtype}. */
export function isLoadDtype(x: unknown): x is LoadDtype {
  return x === 'keep' || x === 'auto' || isWeightDtype(x);
}

/**
 * The loader options (`loadModel`'s `dtype` and `keepHalves`) for `--dtype` `choice` on the backend named `backend`.
 * Why `auto` widens halves on the CPU: a half product there costs 2–3× a float32 one per row (a stories-15m F16 file
 * served 0.59× the float32 tokens/s at one client and 0.31× at 16), where the quantized types cost about as much as
 * float32 and hold a quarter to an eighth of its bytes; on WebGPU halves read half the bytes at no such cost.
 */
export function loadOptionsOf(
  choice: LoadDtype,
  backend: string,
): { dtype: WeightDtype | 'keep'; keepHalves: boolean } {
  if (choice === 'auto') return { dtype: 'keep', keepHalves: backend !== 'cpu' };
  return { dtype: choice, keepHalves: true };
}

/**
 * Loader options with `dtype: 'auto'` made concrete for the current backend (see {@link loadOptionsOf}; the block
 * weights a loader makes live on that backend), any other options as given: what every loader reads.
 */
export function withConcreteDtype<T extends { dtype?: LoadDtype; keepHalves?: boolean }>(
  options: T,
): Omit<T, 'dtype'> & { dtype?: WeightDtype | 'keep' } {
  if (options.dtype !== 'auto') return options as Omit<T, 'dtype'> & { dtype?: WeightDtype | 'keep' };
  return { ...options, ...loadOptionsOf('auto', getBackend().name) };
}

/** Whether `x` names a {@link WeightDtype}. */
export function isWeightDtype(x: unknown): x is WeightDtype {
  return typeof x === 'string' && (WEIGHT_DTYPES as readonly string[]).includes(x);
}

const ggmlOf: Record<WeightDtype, GgmlWritableType> = {
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  q8_0: 'Q8_0',
  q4_0: 'Q4_0',
};

/** The ggml type a tensor of `shape` is stored in under `dtype`. */
export function ggmlTypeFor(shape: readonly number[], dtype: WeightDtype): GgmlWritableType {
  if (shape.length < 2) return 'F32';
  const type = ggmlOf[dtype];
  if ((type === 'Q8_0' || type === 'Q4_0') && shape[shape.length - 1]! % 32 !== 0) return 'F16';
  return type;
}

/**
 * The values a tensor has after being stored as `dtype` and read back (float32 in, float32 out): what a model
 * loaded with `--dtype` computes with while tensors are float32-only.
 */
export function roundTripDtype(shape: readonly number[], values: Float32Array, dtype: WeightDtype): Float32Array {
  const type = ggmlTypeFor(shape, dtype);
  if (type === 'F32') return values;
  return dequantize(type, quantize(type, values), values.length).slice();
}
