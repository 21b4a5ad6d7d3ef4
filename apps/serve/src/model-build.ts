/**
 * Builds a `LlamaForCausalLM` from a model path (Hugging Face directory, GGUF file or llama2.c `.bin`), with an
 * optional LoRA adapter merged in: the one place both the server's main thread and an engine worker build a model.
 *
 * @module
 */
import { applyLoraAdapterDir, type LoadedModel, loadModel, type WeightDtype } from '@andes/checkpoint';
import { LlamaForCausalLM, mergeLora } from '@andes/nn';

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  /** Round weights through this storage type at load (default: as stored). */
  dtype?: WeightDtype;
  /** A PEFT LoRA adapter directory, merged into the weights. */
  lora?: string;
}

/** The model of weights already loaded, with `lora` merged in, in eval mode (the weights are released). */
export async function modelFromLoaded(loaded: LoadedModel, lora?: string): Promise<LlamaForCausalLM> {
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  if (lora !== undefined) {
    await applyLoraAdapterDir(model, lora);
    mergeLora(model);
  }
  return model.eval();
}

/** Loads `path` and builds its model (the tokenizer is not read: whoever needs it loads it apart). */
export async function buildModel(path: string, options: BuildModelOptions = {}): Promise<LlamaForCausalLM> {
  return modelFromLoaded(await loadModel(path, { dtype: options.dtype, skipTokenizer: true }), options.lora);
}
