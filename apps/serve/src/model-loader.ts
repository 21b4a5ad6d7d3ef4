/**
 * Loads a model directory (Hugging Face layout, as @andes/checkpoint writes it) into a `ServedModel`: weights into
 * a `LlamaForCausalLM`, the tokenizer, the chat template (flag, else `tokenizer_config.json`), and a `LlamaEngine`
 * with its KV cache preallocated.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyLoraAdapterDir, loadModel, type WeightDtype } from '@andes/checkpoint';
import { LlamaForCausalLM, mergeLora } from '@andes/nn';
import { applyChatTemplate, type Tokenizer } from '@andes/tokenizer';
import { LlamaEngine } from './llama-engine.js';
import type { ChatMessage, ServedModel } from './served-model.js';

/** Chat templates the server knows by name. */
export const CHAT_TEMPLATE_NAMES = ['llama-2', 'alpaca', 'vicuna', 'chatml'] as const;

/** One of {@link CHAT_TEMPLATE_NAMES}. */
export type ChatTemplateName = (typeof CHAT_TEMPLATE_NAMES)[number];

/** Options of {@link loadServedModel}. */
export interface LoadServedModelOptions {
  /** Model id clients send. */
  id: string;
  /** KV-cache slots. */
  maxSlots: number;
  /** Positions per slot (default: `max_position_embeddings`). */
  maxContext?: number;
  /** Overrides the directory's template. */
  chatTemplate?: ChatTemplateName;
  /** KV-cache budget in bytes. */
  kvBudgetBytes?: number;
  /** A PEFT LoRA adapter directory, applied at load and merged into the weights (no cost per token). */
  lora?: string;
  /** Round weights through this storage type at load (default: as stored). */
  dtype?: WeightDtype;
}

/**
 * The template named by `tokenizer_config.json`: our `chat_template` holds a template name; a Jinja template from
 * elsewhere is recognised by its markers. Default `llama-2`.
 */
export async function chatTemplateOf(dir: string): Promise<ChatTemplateName> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'tokenizer_config.json'), 'utf8');
  } catch {
    return 'llama-2';
  }
  const cfg = JSON.parse(raw) as { chat_template?: unknown };
  const t = cfg.chat_template;
  if (typeof t !== 'string') return 'llama-2';
  if ((CHAT_TEMPLATE_NAMES as readonly string[]).includes(t)) return t as ChatTemplateName;
  if (t.includes('<|im_start|>')) return 'chatml';
  if (t.includes('### Instruction')) return 'alpaca';
  if (t.includes('USER:')) return 'vicuna';
  return 'llama-2';
}

/** Whether `tokenizer_config.json` names a chat template at all (a base model's does not). */
export async function declaresChatTemplate(dir: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return typeof cfg.chat_template === 'string' && cfg.chat_template !== '';
  } catch {
    return false;
  }
}

/** Renders chat messages to prompt ids with the named template (BOS as the template's tokenizer adds it). */
export function renderChatIds(
  tokenizer: Tokenizer,
  template: ChatTemplateName,
  messages: readonly ChatMessage[],
  addGenerationPrompt: boolean,
): number[] {
  return Array.from(applyChatTemplate(tokenizer, messages as ChatMessage[], template, { addGenerationPrompt }));
}

/** Options of {@link createServedModel}: an in-memory model and tokenizer. */
export interface CreateServedModelOptions {
  id: string;
  model: LlamaForCausalLM;
  tokenizer: Tokenizer;
  template: ChatTemplateName;
  /** The model declares no chat template (a base model); `template` is then only the fallback format. */
  base?: boolean;
  maxSlots: number;
  maxContext?: number;
  kvBudgetBytes?: number;
}

/** Wraps a model already in memory (tests, benchmarks, in-process serving). */
export function createServedModel(options: CreateServedModelOptions): ServedModel {
  const { model, tokenizer, template } = options;
  const engine = new LlamaEngine(model, {
    maxSlots: options.maxSlots,
    maxContext: options.maxContext,
    kvBudgetBytes: options.kvBudgetBytes,
  });
  const eosIds = [...new Set([tokenizer.eosId, model.config.eos_token_id].filter((x) => x >= 0))];
  // A ChatML turn ends with <|im_end|>: when the vocabulary has it as a special token, it ends generation too.
  if (template === 'chatml') {
    const imEnd = tokenizer.pieceToId('<|im_end|>');
    if (imEnd >= 0 && tokenizer.isSpecial(imEnd)) eosIds.push(imEnd);
  }
  return {
    id: options.id,
    created: Math.floor(Date.now() / 1000),
    engine,
    tokenizer,
    eosIds,
    chatTemplate: options.base ? null : template,
    renderChat: (messages, addGenerationPrompt = true) =>
      renderChatIds(tokenizer, template, messages, addGenerationPrompt),
  };
}

/** Loads `dir` (a Hugging Face directory, a GGUF file or a llama2.c `.bin`) and builds the served model. */
export async function loadServedModel(dir: string, options: LoadServedModelOptions): Promise<ServedModel> {
  const loaded = await loadModel(dir, { dtype: options.dtype });
  const tokenizer = loaded.tokenizer;
  if (!tokenizer) throw new Error(`loadServedModel: ${dir} has no tokenizer (tokenizer.model or tokenizer.json)`);
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  if (options.lora !== undefined) {
    await applyLoraAdapterDir(model, options.lora);
    mergeLora(model);
  }
  model.eval();
  return createServedModel({
    id: options.id,
    model,
    tokenizer,
    template: options.chatTemplate ?? loaded.chatTemplate ?? (await chatTemplateOf(dir)),
    base: options.chatTemplate === undefined && loaded.chatTemplate === undefined && !(await declaresChatTemplate(dir)),
    maxSlots: options.maxSlots,
    maxContext: options.maxContext,
    kvBudgetBytes: options.kvBudgetBytes,
  });
}
