/**
 * `@andes/nn`: `LlamaConfig`, its presets and parameter counting (modules and the model follow).
 *
 * @module
 */

export {
  headDim,
  type LlamaConfig,
  type LlamaConfigInput,
  llamaConfig,
  type RopeLayout,
  swigluHiddenSize,
  validateLlamaConfig,
} from './config.js';
export { countParameters, type ParameterCount } from './count-parameters.js';
export { LLAMA_PRESETS, type LlamaPresetName, llamaPreset } from './presets.js';
