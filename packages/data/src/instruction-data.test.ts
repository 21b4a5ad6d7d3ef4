import { type ChatTemplateName, chatTemplateText, type Tokenizer, trainBpe } from '@andes/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { type InstructionFormat, parseInstructionData } from './instruction-formats.js';
import {
  IGNORE_INDEX,
  InstructionBatcher,
  padInstructionBatch,
  renderInstructionExample,
  splitInstructionExamples,
} from './instruction-rendering.js';
import { syntheticStory } from './synthetic-stories.js';

let tok: Tokenizer;
beforeAll(async () => {
  const corpus = Array.from({ length: 60 }, (_, i) => syntheticStory(3, i));
  corpus.push(
    'Below is an instruction that describes a task. ### Instruction: ### Input: ### Response: USER ASSISTANT',
  );
  tok = await trainBpe(corpus, { vocabSize: 700, specialTokens: ['<|im_start|>', '<|im_end|>'] });
});

/** The same data in each published format: a two-turn chat (one turn where the format has only one). */
const FILES: Record<InstructionFormat, string> = {
  alpaca: JSON.stringify(
    [
      { instruction: 'Who found the ball?', input: 'Tom lost his ball. Lily found it.', output: 'Lily found it.' },
      { instruction: 'Name a color.', input: '', output: 'Red.' },
    ],
    null,
    2,
  ),
  sharegpt: JSON.stringify([
    {
      id: 'x1',
      conversations: [
        { from: 'system', value: 'You tell stories.' },
        { from: 'human', value: 'Who is Tom?' },
        { from: 'gpt', value: 'Tom is a boy.' },
        { from: 'human', value: 'Where did he go?' },
        { from: 'gpt', value: 'He went to the park.' },
      ],
    },
  ]),
  gpt4all: [
    JSON.stringify({
      prompt: 'Continue the story: Lily had a red kite.',
      response: 'She flew it in the park.',
      source: 'x',
    }),
    JSON.stringify({ prompt: 'Give the story a title.', response: 'Lily and the Kite' }),
  ].join('\n'),
  'chat-jsonl': JSON.stringify({
    messages: [
      { role: 'user', content: 'Where is the cat?' },
      { role: 'assistant', content: 'The cat is under the bed.' },
      { role: 'user', content: 'What color is it?' },
      { role: 'assistant', content: 'It is brown.' },
    ],
  }),
};

const TEMPLATES: ChatTemplateName[] = ['llama-2', 'alpaca', 'vicuna', 'chatml'];

describe('instruction data: readers, response-only loss, padding', () => {
  for (const format of Object.keys(FILES) as InstructionFormat[]) {
    for (const template of TEMPLATES) {
      it(`${format} rendered with ${template}: only response tokens and their EOS carry loss`, () => {
        const examples = parseInstructionData(FILES[format], format, `data.${format}`);
        for (const example of examples) {
          const rendered = renderInstructionExample(tok, example, template);
          const { ids, responseMask } = rendered;
          expect(ids.at(-1)).toBe(tok.eosId);
          expect(responseMask.at(-1)).toBe(1);
          // Cut the ids into maximal runs of equal weight: weighted runs are exactly the replies (+ end token),
          // unweighted runs carry every prompt, system and user word.
          const runs: Array<{ weighted: boolean; text: string }> = [];
          let from = 0;
          for (let i = 1; i <= ids.length; i++) {
            if (i === ids.length || responseMask[i] !== responseMask[from]) {
              runs.push({ weighted: responseMask[from] === 1, text: tok.decode(ids.slice(from, i)).trim() });
              from = i;
            }
          }
          const replies = example.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
          const weighted = runs.filter((r) => r.weighted).map((r) => r.text.replace(/<\|im_end\|>$/, '').trim());
          expect(weighted).toEqual(replies);
          const prompt = runs
            .filter((r) => !r.weighted)
            .map((r) => r.text)
            .join(' ');
          for (const m of example.messages.filter((m) => m.role !== 'assistant')) {
            for (const word of m.content.split(/\s+/).filter((w) => /^[A-Za-z]{3,}$/.test(w)))
              expect(prompt).toContain(word);
          }
          // The ids are the template's own rendering (the text a peer chat template produces), plus EOS if absent.
          const text = chatTemplateText(example.messages, template, {
            addGenerationPrompt: false,
            bosToken: '',
            eosToken: '',
          });
          // (Whitespace aside: each template segment is encoded on its own, with SentencePiece's dummy-prefix space.)
          expect(tok.decode(ids).replace(/\s+/g, '')).toBe(
            text.replace(/<\|im_(start|end)\|>/g, '').replace(/\s+/g, ''),
          );

          // In a padded batch every prompt position and all padding get the ignore index.
          const batch = padInstructionBatch(
            [rendered, { ...rendered, ids: ids.slice(0, 5), responseMask: responseMask.slice(0, 5) }],
            0,
            8,
          );
          expect(batch.seqLen % 8).toBe(0);
          for (let t = 0; t < batch.seqLen; t++) {
            const target = batch.targets[t] as number;
            if (t + 1 < ids.length && responseMask[t + 1] === 1) expect(target).toBe(ids[t + 1]);
            else expect(target).toBe(IGNORE_INDEX);
            if (t < ids.length - 1) expect(batch.inputs[t]).toBe(ids[t]);
          }
          for (let t = 4; t < batch.seqLen; t++) expect(batch.targets[batch.seqLen + t]).toBe(IGNORE_INDEX);
        }
      });
    }
  }

  it("alpaca records render as Alpaca's published prompt, with and without input", () => {
    const [withInput, without] = parseInstructionData(FILES.alpaca, 'alpaca', 'a.json');
    expect(
      chatTemplateText(withInput?.messages ?? [], 'alpaca', { addGenerationPrompt: false, bosToken: '', eosToken: '' }),
    ).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a ' +
        'response that appropriately completes the request.\n\n### Instruction:\nWho found the ball?\n\n### Input:\n' +
        'Tom lost his ball. Lily found it.\n\n### Response:\nLily found it.',
    );
    expect(
      chatTemplateText(without?.messages ?? [], 'alpaca', { addGenerationPrompt: false, bosToken: '', eosToken: '' }),
    ).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nName a color.\n\n### Response:\nRed.',
    );
    expect(withInput?.source).toBe('a.json:2');
    expect(without?.source).toBe('a.json:7');
  });

  it('malformed files fail with file:line and the field', () => {
    const bad: Array<[InstructionFormat, string, RegExp]> = [
      [
        'alpaca',
        '[\n {"instruction": "a", "output": "b"},\n {"instruction": "c"}\n]',
        /^d:3: field 'output' must be a string, got nothing/,
      ],
      [
        'alpaca',
        '[\n {"instruction": "a", "output": "b"},\n {"instruction": 3, "output": "x"}\n]',
        /^d:3: field 'instruction' must be a string, got 3/,
      ],
      [
        'alpaca',
        '[\n {"instruction": "a", "output": "b"},\n {"instruction": "a" "output": "b"}\n]',
        /^d:3: invalid JSON/,
      ],
      ['alpaca', '[\n {"instruction": "a", "output": "b"}\n', /^d:3: the top-level JSON array is not closed/],
      [
        'sharegpt',
        '[{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "c"}]},\n{"conversations": [{"from": "bot", "value": "b"}]}]',
        /^d:2: field 'conversations\[0\].from' must be "human", "gpt" or "system", got "bot"/,
      ],
      [
        'sharegpt',
        '[{"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]}]',
        /^d:1: field 'conversations\[1\].from' is a user turn where an assistant turn is expected/,
      ],
      [
        'sharegpt',
        '[{"conversations": [{"from": "human", "value": "a"}]}]',
        /^d:1: field 'conversations' must end with an assistant reply/,
      ],
      ['sharegpt', '[{"items": []}]', /^d:1: field 'conversations' must be a non-empty array/],
      [
        'gpt4all',
        '{"prompt": "a", "response": "b"}\n\n{"prompt": "a", "reply": "b"}',
        /^d:3: field 'response' must be a string/,
      ],
      ['gpt4all', '{"prompt": "a", "response": "b"}\n{"prompt": "a", "response": "b"', /^d:2: invalid JSON/],
      ['gpt4all', '{"prompt": "  ", "response": "b"}', /^d:1: field 'prompt' is empty/],
      [
        'chat-jsonl',
        '{"messages": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]}',
        /^d:1: field 'messages\[1\].role' must be "system", "user" or "assistant"/,
      ],
      [
        'chat-jsonl',
        '{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "b"}]}',
        /^d:1: messages\[0\]: field 'content' must be a string/,
      ],
      ['chat-jsonl', '[1]', /^d:1: a record must be a JSON object/],
    ];
    for (const [format, text, message] of bad)
      expect(() => parseInstructionData(text, format, 'd'), text).toThrow(message);
  });

  it('splits held-out examples by content, and the batcher resumes exactly from its state', () => {
    const examples = Array.from({ length: 40 }, (_, i) => ({
      messages: [
        { role: 'user' as const, content: `Question number ${i}?` },
        { role: 'assistant' as const, content: `Answer ${i}.` },
      ],
      source: `f:${i + 1}`,
    }));
    const { train, validation } = splitInstructionExamples(examples, 0.25);
    expect(train.length + validation.length).toBe(40);
    expect(validation.length).toBeGreaterThan(3);
    expect(validation.length).toBeLessThan(20);
    expect(
      splitInstructionExamples([...examples].reverse(), 0.25)
        .validation.map((e) => e.source)
        .sort(),
    ).toEqual(validation.map((e) => e.source).sort());
    const rendered = train.map((e) => renderInstructionExample(tok, e, 'vicuna'));
    const a = new InstructionBatcher(rendered, 3, 0, { seed: 5, epoch: 0, index: 0 });
    const first = Array.from({ length: 7 }, () => a.next());
    const b = new InstructionBatcher(rendered, 3, 0, { seed: 5, epoch: 0, index: 0 });
    for (let i = 0; i < 4; i++) b.next();
    const resumed = new InstructionBatcher(rendered, 3, 0, b.state());
    for (let i = 4; i < 7; i++) expect(resumed.next()).toEqual(first[i]);
    // Each pass over the data visits every example once.
    const seen = new Set<string>();
    const c = new InstructionBatcher(rendered, 1, 0, { seed: 1, epoch: 0, index: 0 });
    for (let i = 0; i < rendered.length; i++) seen.add(Array.from(c.next().inputs.slice(0, 12)).join());
    expect(seen.size).toBe(new Set(rendered.map((r) => r.ids.slice(0, 12).join())).size);
  });
});
