/**
 * `tokenizer_config.json` of a model directory: the Hugging Face tokenizer settings plus the chat template, stored
 * by name (`"chat_template": "chatml"`) as andes-serve reads it.
 *
 * @module
 */
import type { ChatTemplateName } from '@andes/tokenizer';

/** The chat templates a model directory can name (those of `@andes/tokenizer`'s `applyChatTemplate`). */
export const CHAT_TEMPLATE_NAMES: readonly ChatTemplateName[] = ['llama-2', 'alpaca', 'vicuna', 'chatml'];

/** What {@link tokenizerConfigJson} needs from a tokenizer to name its BOS / EOS pieces. */
export interface SpecialTokenSource {
  /** BOS id (negative or absent: none). */
  readonly bosId?: number;
  /** EOS id (negative or absent: none). */
  readonly eosId?: number;
  /** The piece of an id, e.g. `<s>`. */
  idToPiece?(id: number): string;
}

/** LLaMA's pieces, used when no tokenizer object names them (e.g. raw `tokenizer.model` bytes). */
const LLAMA_BOS = '<s>';
const LLAMA_EOS = '</s>';

function pieceOf(tokenizer: SpecialTokenSource | undefined, id: number | undefined, fallback: string): string {
  if (tokenizer?.idToPiece && id !== undefined && id >= 0) return tokenizer.idToPiece(id);
  return fallback;
}

/**
 * The `tokenizer_config.json` object: `tokenizer_class: LlamaTokenizer`, BOS / EOS pieces (from the tokenizer, else
 * LLaMA's `<s>` / `</s>`), and `chat_template` when a template name is given.
 */
export function tokenizerConfigJson(
  maxLength: number,
  tokenizer: SpecialTokenSource | undefined,
  chatTemplate: ChatTemplateName | undefined,
): Record<string, unknown> {
  if (chatTemplate !== undefined && !CHAT_TEMPLATE_NAMES.includes(chatTemplate)) {
    throw new Error(
      `saveModelDir: chatTemplate ${JSON.stringify(chatTemplate)} is not one of ${CHAT_TEMPLATE_NAMES.join(', ')}`,
    );
  }
  return {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: pieceOf(tokenizer, tokenizer?.bosId, LLAMA_BOS),
    eos_token: pieceOf(tokenizer, tokenizer?.eosId, LLAMA_EOS),
    add_bos_token: true,
    add_eos_token: false,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
    ...(chatTemplate ? { chat_template: chatTemplate } : {}),
  };
}

/**
 * The chat template a parsed `tokenizer_config.json` names, when its `chat_template` is one of
 * {@link CHAT_TEMPLATE_NAMES}; undefined otherwise (absent, or a Jinja template written by other tools).
 */
export function chatTemplateName(tokenizerConfig: Record<string, unknown>): ChatTemplateName | undefined {
  const t = tokenizerConfig.chat_template;
  return typeof t === 'string' && (CHAT_TEMPLATE_NAMES as readonly string[]).includes(t)
    ? (t as ChatTemplateName)
    : undefined;
}
