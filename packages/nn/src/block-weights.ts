/**
 * Moving a model's linear weights into half-float or block-quantized storage for inference.
 *
 * @module
 */
import type { BlockWeight } from '@andes/tensor';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

/**
 * Hands each `<layer>.weight` of `weights` to that {@link Linear} or {@link Embedding} layer of `model` (see their
 * `useBlockWeight`): the float32 weights are freed and the forward pass decodes the blocks in the matmul kernels (an
 * embedding table: the rows looked up). Load the remaining float32 tensors with `loadStateDict` afterwards (the
 * moved names are no longer parameters).
 *
 * @example
 * const { config, tensors, blockWeights } = await loadModel('model.q4_0.gguf', { dtype: 'keep' });
 * const model = new LlamaForCausalLM(config, { empty: true }); // or LlamaForCausalLM.fromWeights(config, loaded)
 * useBlockWeights(model, blockWeights!);
 * model.loadStateDict(tensors);
 * @throws Error naming a weight that is not the weight of a Linear or Embedding layer of `model`.
 */
export function useBlockWeights(model: Module, weights: ReadonlyMap<string, BlockWeight>): void {
  const modules = new Map(model.namedModules());
  for (const [name, weight] of weights) {
    const layer = name.endsWith('.weight') ? modules.get(name.slice(0, -'.weight'.length)) : undefined;
    if (!(layer instanceof Linear) && !(layer instanceof Embedding)) {
      throw new Error(
        `useBlockWeights: ${name} (${weight.type}) is not the weight of a Linear or Embedding layer of the model`,
      );
    }
    layer.useBlockWeight(weight);
  }
}
