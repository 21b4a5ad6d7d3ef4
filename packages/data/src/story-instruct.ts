/**
 * `builtin:story-instruct`: a seeded synthetic instruction set over the built-in story world. Each example gives a
 * short story (same names, places and things as the synthetic corpus) and asks about it — who it is about, who the
 * friend is, where they went, what they found, a title — or asks to continue it. Every answer is in the story, so
 * a model has to read the prompt rather than recall; the short answers can be scored by exact match.
 *
 * @module
 */

import { mixSeed, SeededRandom } from '@andes/tensor';
import type { ChatMessage } from '@andes/tokenizer';
import type { InstructionFormat } from './instruction-formats.js';
import { animals, boyNames, colors, girlNames, hidingSpots, objects, places } from './story-lexicon.js';

/** The kinds of question in the set. */
export type StoryTaskKind = 'who' | 'friend' | 'where' | 'what' | 'title' | 'continue';

/** One instruction about one story. */
export interface StoryInstruction {
  /** The kind of question. */
  kind: StoryTaskKind;
  /** The story the instruction is about (also inside `instruction`). */
  story: string;
  /** The user's message: the story, then the question. */
  instruction: string;
  /** The expected reply. */
  answer: string;
}

/** Kinds with a short answer that exact match can score (everything but `continue`). */
export const STORY_QA_KINDS: readonly StoryTaskKind[] = ['who', 'friend', 'where', 'what', 'title'];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Instruction `index` of the set with `seed` (same arguments → same instruction). Kinds cycle evenly
 * (`index % 6`) so any slice is balanced.
 */
export function storyInstruction(seed: number, index: number): StoryInstruction {
  const rng = new SeededRandom(mixSeed(seed ^ 0x5ea1, index));
  const girl = rng.chance(0.5);
  const hero = rng.pick(girl ? girlNames : boyNames);
  let friend = rng.pick(rng.chance(0.5) ? girlNames : boyNames);
  while (friend === hero) friend = rng.pick(boyNames);
  const subj = girl ? 'she' : 'he';
  const pos = girl ? 'her' : 'his';
  const place = rng.pick(places);
  const color = rng.pick(colors);
  const thing = rng.chance(0.5) ? rng.pick(objects) : rng.pick(animals);
  const spot = rng.pick(hidingSpots);
  // Three sentences: short enough for the `npm start` model's 128-token context with the chat template around it.
  const sentences = [
    `One day, ${hero} went to the ${place} with ${pos} friend ${friend}.`,
    `There ${subj} found a ${color} ${thing} ${spot}.`,
    rng.pick([`${friend} laughed and clapped.`, `They played until the sun went down.`, `It was the best day ever.`]),
  ];
  const story = sentences.join(' ');
  const kinds: StoryTaskKind[] = ['who', 'friend', 'where', 'what', 'title', 'continue'];
  const kind = kinds[index % kinds.length] as StoryTaskKind;
  const ask = (question: string, answer: string): StoryInstruction => ({
    kind,
    story,
    instruction: `${story}\n${question}`,
    answer,
  });
  switch (kind) {
    case 'who':
      return ask('Who is the story about?', hero);
    case 'friend':
      return ask(`Who is the friend of ${hero}?`, friend);
    case 'where':
      return ask(`Where did ${hero} go?`, `the ${place}`);
    case 'what':
      return ask(`What did ${hero} find?`, `a ${color} ${thing}`);
    case 'title':
      return ask('Give the story a title.', `${hero} and the ${cap(color)} ${cap(thing)}`);
    default: {
      const head = sentences.slice(0, 2).join(' ');
      return { kind, story: head, instruction: `${head}\nContinue the story.`, answer: sentences[2] as string };
    }
  }
}

/** `count` instructions of the set, starting at `start`. */
export function storyInstructions(seed: number, count: number, start = 0): StoryInstruction[] {
  return Array.from({ length: count }, (_, i) => storyInstruction(seed, start + i));
}

/** An instruction as chat messages (user, assistant). */
export function storyInstructionMessages(item: StoryInstruction): ChatMessage[] {
  return [
    { role: 'user', content: item.instruction },
    { role: 'assistant', content: item.answer },
  ];
}

/**
 * The set written in one of the public formats, as file text: Alpaca's JSON array (the story as `input`), ShareGPT
 * conversations, GPT4All prompt/response lines, or chat JSON lines.
 */
export function storyInstructionFile(items: readonly StoryInstruction[], format: InstructionFormat): string {
  const lines = items.map((item) => {
    const question = item.instruction.slice(item.story.length + 1);
    switch (format) {
      case 'alpaca':
        return { instruction: question, input: item.story, output: item.answer };
      case 'sharegpt':
        return {
          conversations: [
            { from: 'human', value: item.instruction },
            { from: 'gpt', value: item.answer },
          ],
        };
      case 'gpt4all':
        return { prompt: item.instruction, response: item.answer };
      default:
        return { messages: storyInstructionMessages(item) };
    }
  });
  if (format === 'alpaca' || format === 'sharegpt') return `[\n${lines.map((l) => JSON.stringify(l)).join(',\n')}\n]\n`;
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}
