/**
 * Builds a `LlamaForCausalLM` from a model path (Hugging Face directory, GGUF file or llama2.c `.bin`), with an
 * optional LoRA adapter merged in: the one place both the server's main thread and an engine worker build a model.
 *
 * @module
 */
import { applyLoraAdapterDir, type LoadDtype, type LoadedModel, loadModel } from '@andes/checkpoint';
import { LlamaForCausalLM, mergeLora } from '@andes/nn';

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  /**
   * `keep`: a GGUF file's half and quantized matrices stay in their types and the products read them there (as
   * llama.cpp computes); `auto` (the default): the same but F16/BF16 widened to float32 on the CPU backend; another
   * type: every matrix rounded through it at load and computed in float32.
   */
  dtype?: LoadDtype;
  /** A PEFT LoRA adapter directory, merged into the weights. */
  lora?: string;
}

/**
 * The model of weights already loaded, with `lora` applied, in eval mode (the weights are released). The adapter is
 * merged into float32 weights; beside kept block weights, which cannot take the update, it stays a separate product
 * added in each forward (as QLoRA serves an adapter on a quantized base).
 */
export async function modelFromLoaded(loaded: LoadedModel, lora?: string): Promise<LlamaForCausalLM> {
  const blocks = (loaded.blockWeights?.size ?? 0) > 0;
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  if (lora !== undefined) {
    await applyLoraAdapterDir(model, lora);
    if (!blocks) mergeLora(model);
  }
  return model.eval();
}

/** Loads `path` and builds its model (the tokenizer is not read: whoever needs it loads it apart). */
export async function buildModel(path: string, options: BuildModelOptions = {}): Promise<LlamaForCausalLM> {
  return modelFromLoaded(await loadModel(path, { dtype: options.dtype ?? 'auto', skipTokenizer: true }), options.lora);
}
