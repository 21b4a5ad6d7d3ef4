// Chat prompt formats. A template renders messages into segments: plain text, or a special token
// (bos, eos, `<|im_start|>`…). Text segments are encoded one at a time, so each gets SentencePiece's
// dummy-prefix space, exactly as Meta's Llama 2 `chat_completion` encodes each turn separately.
import type { Tokenizer } from './tokenizer.js';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Supported prompt formats. */
export type ChatTemplateName = 'llama-2' | 'alpaca' | 'vicuna' | 'chatml';

/** Options for {@link applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
}

type Segment = { text: string } | { special: 'bos' | 'eos' | string };

const LLAMA2_B_SYS = '<<SYS>>\n';
const LLAMA2_E_SYS = '\n<</SYS>>\n\n';
const ALPACA_PREAMBLE =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.';
const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

function splitSystem(messages: readonly ChatMessage[]): [string | null, ChatMessage[]] {
  if (messages.length > 0 && messages[0]!.role === 'system') return [messages[0]!.content, messages.slice(1)];
  return [null, messages.slice()];
}

function checkAlternation(template: string, turns: readonly ChatMessage[]): void {
  turns.forEach((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) {
      throw new Error(
        `applyChatTemplate(${template}): message ${i} has role '${m.role}', expected '${want}' (after an optional leading system message, roles must alternate user/assistant)`,
      );
    }
  });
}

function llama2(messages: readonly ChatMessage[]): Segment[] {
  const [system, turns] = splitSystem(messages);
  checkAlternation('llama-2', turns);
  if (system !== null && turns.length > 0) {
    turns[0] = { role: 'user', content: LLAMA2_B_SYS + system + LLAMA2_E_SYS + turns[0]!.content };
  }
  const out: Segment[] = [];
  for (let i = 0; i < turns.length; i += 2) {
    const user = turns[i]!.content.trim();
    const answer = turns[i + 1];
    out.push({ special: 'bos' });
    if (answer) {
      out.push({ text: `[INST] ${user} [/INST] ${answer.content.trim()} ` }, { special: 'eos' });
    } else out.push({ text: `[INST] ${user} [/INST]` });
  }
  return out;
}

function alpaca(messages: readonly ChatMessage[], generationPrompt: boolean): Segment[] {
  const [system, turns] = splitSystem(messages);
  checkAlternation('alpaca', turns);
  let text = `${system ?? ALPACA_PREAMBLE}\n\n`;
  const out: Segment[] = [{ special: 'bos' }];
  turns.forEach((m) => {
    if (m.role === 'user') text += `### Instruction:\n${m.content}\n\n### Response:\n`;
    else {
      out.push({ text: text + m.content }, { special: 'eos' });
      text = '\n\n';
    }
  });
  const last = turns[turns.length - 1];
  if (last?.role === 'user') {
    if (!generationPrompt) text = text.slice(0, text.length - '### Response:\n'.length);
    out.push({ text });
  }
  return out;
}

function vicuna(messages: readonly ChatMessage[], generationPrompt: boolean): Segment[] {
  const [system, turns] = splitSystem(messages);
  checkAlternation('vicuna', turns);
  let text = `${system ?? VICUNA_SYSTEM} `;
  const out: Segment[] = [{ special: 'bos' }];
  turns.forEach((m) => {
    if (m.role === 'user') text += `USER: ${m.content} `;
    else {
      out.push({ text: `${text}ASSISTANT: ${m.content}` }, { special: 'eos' });
      text = '';
    }
  });
  if (generationPrompt && turns[turns.length - 1]?.role !== 'assistant') text += 'ASSISTANT:';
  if (text.trimEnd()) out.push({ text: text.trimEnd() });
  return out;
}

function chatml(messages: readonly ChatMessage[], generationPrompt: boolean): Segment[] {
  const out: Segment[] = [];
  messages.forEach((m, i) => {
    out.push({ special: '<|im_start|>' }, { text: `${m.role}\n${m.content}` }, { special: '<|im_end|>' });
    if (i < messages.length - 1 || generationPrompt) out.push({ text: '\n' });
  });
  if (generationPrompt) out.push({ special: '<|im_start|>' }, { text: 'assistant\n' });
  return out;
}

function render(messages: readonly ChatMessage[], template: ChatTemplateName, options: ChatTemplateOptions): Segment[] {
  const gen = options.addGenerationPrompt ?? true;
  switch (template) {
    case 'llama-2':
      return llama2(messages);
    case 'alpaca':
      return alpaca(messages, gen);
    case 'vicuna':
      return vicuna(messages, gen);
    case 'chatml':
      return chatml(messages, gen);
    default:
      throw new Error(`applyChatTemplate: unknown template '${template as string}' (llama-2, alpaca, vicuna, chatml)`);
  }
}

function specialId(tok: Tokenizer, name: string): number {
  if (name === 'bos') return tok.bosId;
  if (name === 'eos') return tok.eosId;
  const id = tok.pieceToId(name);
  return id >= 0 && tok.isSpecial(id) ? id : -1;
}

/**
 * Formats a conversation as prompt ids. Llama 2 follows Meta's `chat_completion`: each
 * `[INST] user [/INST] answer ` turn is encoded with bos and eos, the final user turn with bos only.
 * Alpaca and Vicuna (v1.1) start with bos and close each assistant reply with eos. ChatML uses
 * `<|im_start|>`/`<|im_end|>` ids when the vocabulary has them as special tokens, else their text.
 */
export function applyChatTemplate(
  tok: Tokenizer,
  messages: readonly ChatMessage[],
  template: ChatTemplateName,
  options: ChatTemplateOptions = {},
): number[] {
  const ids: number[] = [];
  let pendingText = '';
  const flush = () => {
    if (pendingText) ids.push(...tok.encode(pendingText));
    pendingText = '';
  };
  for (const seg of render(messages, template, options)) {
    if ('text' in seg) {
      pendingText += seg.text;
      continue;
    }
    const id = specialId(tok, seg.special);
    if (id >= 0) {
      flush();
      ids.push(id);
    } else if (seg.special !== 'bos' && seg.special !== 'eos') pendingText += seg.special;
  }
  flush();
  return ids;
}

/**
 * The same prompt as text, with special tokens written out (`<s>`, `</s>`, `<|im_start|>`…) as
 * Hugging Face chat templates render them. Pass a tokenizer to use its bos/eos spellings.
 */
export function chatTemplateText(
  messages: readonly ChatMessage[],
  template: ChatTemplateName,
  options: ChatTemplateOptions & { bosToken?: string; eosToken?: string } = {},
): string {
  const bos = options.bosToken ?? '<s>';
  const eos = options.eosToken ?? '</s>';
  return render(messages, template, options)
    .map((seg) => ('text' in seg ? seg.text : seg.special === 'bos' ? bos : seg.special === 'eos' ? eos : seg.special))
    .join('');
}
