import { describe, expect, it } from 'vitest';
import { INSTRUCTION_FORMATS, parseInstructionData } from './instruction-formats.js';
import { STORY_QA_KINDS, storyInstruction, storyInstructionFile, storyInstructions } from './story-instruct.js';

describe('builtin:story-instruct', () => {
  it('is seeded, balanced over kinds, and every short answer can be read off its story', () => {
    expect(storyInstruction(7, 12)).toEqual(storyInstruction(7, 12));
    expect(storyInstruction(7, 12)).not.toEqual(storyInstruction(8, 12));
    const items = storyInstructions(3, 60);
    const counts = new Map<string, number>();
    for (const item of items) {
      counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1);
      expect(item.instruction.startsWith(item.story)).toBe(true);
      if (item.kind === 'title') {
        for (const word of item.answer.split(' ').filter((w) => w !== 'and' && w !== 'the'))
          expect(item.story.toLowerCase()).toContain(word.toLowerCase());
      } else if (STORY_QA_KINDS.includes(item.kind)) expect(item.story).toContain(item.answer);
      else expect(item.story).not.toContain(item.answer);
    }
    expect([...counts.values()]).toEqual([10, 10, 10, 10, 10, 10]);
    // Questions are not answerable without the story: the answer varies across stories.
    expect(new Set(items.filter((i) => i.kind === 'who').map((i) => i.answer)).size).toBeGreaterThan(4);
  });

  it('writes each public format so that its reader returns the same question and answer', () => {
    const items = storyInstructions(1, 12);
    for (const format of INSTRUCTION_FORMATS) {
      const examples = parseInstructionData(storyInstructionFile(items, format), format, `s.${format}`);
      expect(examples.length).toBe(items.length);
      examples.forEach((e, i) => {
        const item = items[i] as (typeof items)[number];
        const user = e.messages.find((m) => m.role === 'user')?.content ?? '';
        expect(e.messages.at(-1)).toEqual({ role: 'assistant', content: item.answer });
        expect(user).toContain(item.story);
        expect(user).toContain(item.instruction.slice(item.story.length + 1));
      });
    }
  });
});
