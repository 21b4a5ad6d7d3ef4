/**
 * Built-in tasks for models trained on the built-in story corpus, generated reproducibly from @andes/data's
 * `syntheticStory` with seeds that training does not use (training's synthetic corpus uses seed 0 by default):
 * - `story-continuation` (HellaSwag-like): the next sentence of a story among four, three taken from other stories.
 * - `story-names`: four endings of a story, three with the hero's name swapped for a name the story never used;
 *   pick the one that keeps the characters consistent.
 * - `name-recall`: the story cut just before a character's name recurs; pick the name among four.
 * - `object-recall`: the story cut just before an object it mentioned recurs; pick the object among four.
 * Each is four-way multiple choice (chance 0.25). A train split for k-shot prompts comes from another seed.
 * @module
 */

import { syntheticStory } from '@andes/data';
import { fnv1a32, seededUniform } from '@andes/tensor';
import { itemSeed } from './fewshot.js';
import { assembleTask, type ChoiceItem, type Task } from './task-file.js';

/** Seed of the built-in tasks' evaluation stories (disjoint from training's default 0 and from the train split). */
export const BUILTIN_EVAL_SEED = 0x5eed_e7a1;
/** Seed of the built-in tasks' few-shot (train split) stories. */
export const BUILTIN_TRAIN_SEED = 0x5eed_7a1e;
/** Names of the built-in tasks. */
export const BUILTIN_TASK_NAMES = ['story-continuation', 'story-names', 'name-recall', 'object-recall'] as const;
/** One of {@link BUILTIN_TASK_NAMES}. */
export type BuiltinTaskName = (typeof BUILTIN_TASK_NAMES)[number];

/** The corpus's character names (with their kind) and objects, read off the corpus itself. */
export interface StoryVocabulary {
  names: Map<string, 'girl' | 'boy'>;
  objects: string[];
}

let vocabularyCache: StoryVocabulary | undefined;

/**
 * Harvests the corpus's names and objects from the phrases that introduce them ("a girl named Lily",
 * "I lost my kite", …) over a few hundred stories of a private seed, so the tasks follow the generator's lexicon
 * without reaching into the data package's internals.
 */
export function storyVocabulary(): StoryVocabulary {
  if (vocabularyCache) return vocabularyCache;
  const names = new Map<string, 'girl' | 'boy'>();
  const objects = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const story = syntheticStory(0x0b5e_55ed, i);
    for (const m of story.matchAll(/\b(girl|boy) (?:named|called) ([A-Z][a-z]+)/g))
      names.set(m[2]!, m[1] as 'girl' | 'boy');
    for (const m of story.matchAll(/I lost my ([a-z]+),|"The ([a-z]+) is mine!"|put the ([a-z]+) in/g)) {
      objects.add((m[1] ?? m[2] ?? m[3])!);
    }
  }
  if (names.size < 8 || objects.size < 4) {
    throw new Error(
      `builtin tasks: could not read the story vocabulary (${names.size} names, ${objects.size} objects)`,
    );
  }
  vocabularyCache = { names, objects: [...objects].sort() };
  return vocabularyCache;
}

function occurrences(text: string, word: string): number[] {
  return [...text.matchAll(new RegExp(`\\b${word}\\b`, 'g'))].map((m) => m.index!);
}

function shuffleWithLabel(
  correct: string,
  distractors: string[],
  random: () => number,
): { choices: string[]; label: number } {
  const choices = [correct, ...distractors];
  for (let i = choices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [choices[i], choices[j]] = [choices[j]!, choices[i]!];
  }
  return { choices, label: choices.indexOf(correct) };
}

function pickDistinct(pool: string[], count: number, random: () => number): string[] {
  const copy = [...pool];
  const out: string[] = [];
  while (out.length < count && copy.length > 0) out.push(copy.splice(Math.floor(random() * copy.length), 1)[0]!);
  return out;
}

/** The story cut before a later (not the first) occurrence of one of `words`, and that word; null if none. */
function cutBeforeRecurrence(
  story: string,
  words: string[],
  random: () => number,
): { context: string; answer: string } | null {
  const candidates: { at: number; word: string }[] = [];
  for (const word of words) {
    const at = occurrences(story, word);
    // Only recurrences preceded by a space: the scored continuation is " " + word, as the harness delimiter.
    for (const i of at.slice(1)) if (story[i - 1] === ' ') candidates.push({ at: i, word });
  }
  if (candidates.length === 0) return null;
  const chosen = candidates[Math.floor(random() * candidates.length)]!;
  return { context: story.slice(0, chosen.at - 1), answer: chosen.word };
}

/** A story's sentences (quotes stay with their sentence). */
function sentencesOf(story: string): string[] {
  return story.split(/(?<=[.!?]"?) (?=["A-Z])/);
}

function wordCount(sentence: string): number {
  return sentence.split(' ').length;
}

function continuationItem(story: string, others: string[], random: () => number, where: string): ChoiceItem | null {
  const sentences = sentencesOf(story);
  const candidates = sentences.map((_, i) => i).filter((i) => i >= 2 && wordCount(sentences[i]!) >= 4);
  if (candidates.length === 0) return null;
  const k = candidates[Math.floor(random() * candidates.length)]!;
  const distractors: string[] = [];
  for (const other of others) {
    // A sentence of another story that this story does not contain (so it cannot be right by accident).
    const pool = sentencesOf(other).filter(
      (x) => wordCount(x) >= 4 && !sentences.includes(x) && !distractors.includes(x),
    );
    if (pool.length === 0) return null;
    distractors.push(pool[Math.floor(random() * pool.length)]!);
  }
  const { choices, label } = shuffleWithLabel(sentences[k]!, distractors, random);
  return { kind: 'choice', context: sentences.slice(0, k).join(' '), choices, label, where };
}

function storyNamesItem(story: string, vocab: StoryVocabulary, random: () => number, where: string): ChoiceItem | null {
  const present = [...vocab.names.keys()].filter((n) => occurrences(story, n).length > 0);
  const hero = present.map((n) => ({ n, at: occurrences(story, n)[0]! })).sort((a, b) => a.at - b.at)[0]?.n;
  if (!hero) return null;
  const sentences = sentencesOf(story);
  // An ending in the second half that names the hero, after the hero was introduced.
  const half = Math.floor(sentences.length / 2);
  const endings = sentences
    .map((_, i) => i)
    .filter((i) => i >= Math.max(1, half) && occurrences(sentences[i]!, hero).length > 0);
  if (endings.length === 0) return null;
  const k = endings[Math.floor(random() * endings.length)]!;
  const kind = vocab.names.get(hero)!;
  const absent = [...vocab.names.keys()].filter((n) => vocab.names.get(n) === kind && !present.includes(n));
  if (absent.length < 3) return null;
  const swap = (name: string) => sentences[k]!.replace(new RegExp(`\\b${hero}\\b`, 'g'), name);
  const { choices, label } = shuffleWithLabel(sentences[k]!, pickDistinct(absent, 3, random).map(swap), random);
  return { kind: 'choice', context: sentences.slice(0, k).join(' '), choices, label, where };
}

function recallItem(
  words: string[],
  story: string,
  pool: string[],
  random: () => number,
  where: string,
): ChoiceItem | null {
  const present = words.filter((w) => occurrences(story, w).length > 0);
  const cut = cutBeforeRecurrence(story, present, random);
  if (!cut) return null;
  const absent = pool.filter((w) => !present.includes(w));
  if (absent.length < 3) return null;
  const { choices, label } = shuffleWithLabel(cut.answer, pickDistinct(absent, 3, random), random);
  return { kind: 'choice', context: cut.context, choices, label, where };
}

function makeItem(name: BuiltinTaskName, seed: number, index: number, random: () => number): ChoiceItem | null {
  const vocab = storyVocabulary();
  const names = [...vocab.names.keys()];
  const story = syntheticStory(seed, index);
  const where = `builtin:${name}:story ${index}`;
  if (name === 'story-continuation') {
    const others = [1, 2, 3].map((j) => syntheticStory(seed, index + 1000 * j));
    return continuationItem(story, others, random, where);
  }
  if (name === 'story-names') return storyNamesItem(story, vocab, random, where);
  if (name === 'name-recall') return recallItem(names, story, names, random, where);
  return recallItem(vocab.objects, story, vocab.objects, random, where);
}

function generateItems(name: BuiltinTaskName, seed: number, count: number): ChoiceItem[] {
  const items: ChoiceItem[] = [];
  for (let index = 0; items.length < count; index++) {
    if (index > count * 20) throw new Error(`builtin task ${name}: too few usable stories for ${count} items`);
    // The task's name salts the draw so different tasks on the same story do not share label positions.
    // FNV-1a of the (ASCII) task name is a salt that does not change when tasks are added.
    const random = seededUniform(itemSeed((seed ^ fnv1a32(name)) >>> 0, index));
    const item = makeItem(name, seed, index, random);
    if (item) items.push(item);
  }
  return items;
}

/** Options of {@link builtinTask}. */
export interface BuiltinTaskOptions {
  /** Evaluation items (default 100). */
  items?: number;
  /** Train-split items for k-shot prompts (default 25). */
  trainItems?: number;
}

/** Generates one built-in task; the same name and options always give the same items. */
export function builtinTask(name: BuiltinTaskName, options: BuiltinTaskOptions = {}): Task {
  if (!BUILTIN_TASK_NAMES.includes(name)) {
    throw new Error(`unknown built-in task "${name}"; expected one of ${BUILTIN_TASK_NAMES.join(', ')}`);
  }
  const evalItems = generateItems(name, BUILTIN_EVAL_SEED, options.items ?? 100);
  const trainItems = generateItems(name, BUILTIN_TRAIN_SEED, options.trainItems ?? 25);
  const rows = [
    ...evalItems.map((item) => ({ item, split: 'test' })),
    ...trainItems.map((item) => ({ item, split: 'train' })),
  ];
  return assembleTask(name, rows, 'builtin');
}

/** All built-in tasks. */
export function builtinTasks(options: BuiltinTaskOptions = {}): Task[] {
  return BUILTIN_TASK_NAMES.map((n) => builtinTask(n, options));
}
