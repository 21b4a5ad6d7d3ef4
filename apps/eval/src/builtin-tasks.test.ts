import { syntheticStory } from '@andes/data';
import { describe, expect, it } from 'vitest';
import { BUILTIN_EVAL_SEED, BUILTIN_TASK_NAMES, builtinTask, storyVocabulary } from './builtin-tasks.js';

describe('built-in story tasks', () => {
  it('reads the corpus vocabulary: names with their kind, and objects', () => {
    const v = storyVocabulary();
    expect(v.names.size).toBeGreaterThanOrEqual(16);
    expect(v.objects.length).toBeGreaterThanOrEqual(6);
    for (const [name, kind] of v.names) {
      expect(['girl', 'boy']).toContain(kind);
      expect(name).toMatch(/^[A-Z][a-z]+$/);
    }
    for (const o of v.objects) expect(o).toMatch(/^[a-z]+$/);
  });

  it.each(BUILTIN_TASK_NAMES)('%s is reproducible, four-way, and its answer is grounded in the story', (name) => {
    const a = builtinTask(name, { items: 30, trainItems: 5 });
    const b = builtinTask(name, { items: 30, trainItems: 5 });
    expect(a).toEqual(b);
    expect(a.items).toHaveLength(30);
    expect(a.train).toHaveLength(5);
    expect(a.chance).toBeCloseTo(0.25, 12);
    const labels = new Set<number>();
    for (const item of a.items) {
      if (item.kind !== 'choice') throw new Error('expected choice items');
      expect(new Set(item.choices).size).toBe(4);
      labels.add(item.label);
      const story = syntheticStory(BUILTIN_EVAL_SEED, Number(item.where.split('story ')[1]));
      // The gold continuation continues the real story text.
      expect(story.startsWith(`${item.context} ${item.choices[item.label]}`)).toBe(true);
      // Distractors never continue it.
      item.choices.forEach((c, i) => {
        if (i !== item.label) expect(story.startsWith(`${item.context} ${c}`)).toBe(false);
      });
    }
    expect(labels.size).toBeGreaterThan(1);
    // Evaluation and few-shot stories come from different seeds: no shared contexts.
    const contexts = new Set(a.items.map((i) => (i.kind === 'choice' ? i.context : '')));
    for (const t of a.train) expect(contexts.has(t.kind === 'choice' ? t.context : '')).toBe(false);
  });
});
