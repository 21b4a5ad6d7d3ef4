import { beforeAll, describe, expect, it } from 'vitest';
import { hasLlama2Model, llama2ModelPath, loadReference, type ReferenceProcessor } from '../test/reference.js';
import { applyChatTemplate, type ChatMessage, chatTemplateText } from './chat-template.js';
import { loadTokenizer } from './load.js';
import type { Tokenizer } from './tokenizer.js';

const dialog: ChatMessage[] = [
  { role: 'system', content: 'Always answer with Haiku' },
  { role: 'user', content: ' I am going to Paris, what should I see? ' },
  { role: 'assistant', content: 'Eiffel tower high\nArt in the Louvre ' },
  { role: 'user', content: 'What is so great about #1?' },
];

describe('chat template text', () => {
  it('renders Llama 2 like Meta/HF', () => {
    expect(chatTemplateText(dialog, 'llama-2')).toBe(
      '<s>[INST] <<SYS>>\nAlways answer with Haiku\n<</SYS>>\n\n I am going to Paris, what should I see? [/INST] Eiffel tower high\nArt in the Louvre </s>' +
        '<s>[INST] What is so great about #1? [/INST]',
    );
  });
  it('renders Vicuna v1.1 like FastChat', () => {
    const msgs: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Who are you?' },
    ];
    expect(chatTemplateText(msgs, 'vicuna')).toBe(
      "<s>A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: Hi ASSISTANT: Hello!</s>USER: Who are you? ASSISTANT:",
    );
    expect(chatTemplateText(msgs, 'vicuna', { addGenerationPrompt: false }).endsWith('USER: Who are you?')).toBe(true);
  });
  it('renders Alpaca and ChatML', () => {
    expect(chatTemplateText([{ role: 'user', content: 'List 3 colors.' }], 'alpaca')).toBe(
      '<s>Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nList 3 colors.\n\n### Response:\n',
    );
    expect(chatTemplateText(dialog.slice(0, 2), 'chatml')).toBe(
      '<|im_start|>system\nAlways answer with Haiku<|im_end|>\n<|im_start|>user\n I am going to Paris, what should I see? <|im_end|>\n<|im_start|>assistant\n',
    );
  });
  it('rejects non-alternating roles', () => {
    expect(() => chatTemplateText([{ role: 'assistant', content: 'x' }], 'llama-2')).toThrow(
      /message 0 has role 'assistant'/,
    );
  });
});

describe.skipIf(!hasLlama2Model)('chat template ids on LLaMA 2', () => {
  let tok: Tokenizer;
  let ref: ReferenceProcessor;
  beforeAll(async () => {
    tok = await loadTokenizer(llama2ModelPath);
    ref = await loadReference(llama2ModelPath);
  });

  it("matches Meta's chat_completion token layout (encoded with google's sentencepiece)", () => {
    // Meta's llama/generation.py: per (user, answer) pair, bos + encode(`[INST] u [/INST] a `) + eos;
    // then bos + encode(`[INST] last [/INST]`).
    const first = `<<SYS>>\nAlways answer with Haiku\n<</SYS>>\n\n I am going to Paris, what should I see? `.trim();
    const want = [
      1,
      ...ref.encodeIds(`[INST] ${first} [/INST] ${'Eiffel tower high\nArt in the Louvre '.trim()} `),
      2,
      1,
      ...ref.encodeIds('[INST] What is so great about #1? [/INST]'),
    ];
    expect(applyChatTemplate(tok, dialog, 'llama-2', { addGenerationPrompt: true })).toEqual(want);
  });

  it('uses bos/eos ids for Vicuna and text for ChatML markers absent from the vocabulary', () => {
    const ids = applyChatTemplate(
      tok,
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Yo' },
      ],
      'vicuna',
    );
    expect(ids[0]).toBe(1);
    expect(ids.filter((i) => i === 2)).toHaveLength(1);
    expect(tok.decode(ids)).toContain('USER: Hi ASSISTANT: Yo');
    const chat = applyChatTemplate(tok, [{ role: 'user', content: 'Hi' }], 'chatml');
    expect(tok.decode(chat)).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });
});
