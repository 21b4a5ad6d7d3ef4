/**
 * `story-instruct`: the built-in instruction task — questions about a short story whose answers are in the story
 * (who it is about, the friend, where they went, what they found, a title), asked in the Llama 2 chat format and
 * scored by exact match of the greedy reply. Items come from @andes/data's story-instruct set with a seed that
 * `andes-train finetune --data builtin:story-instruct` does not train on, so a fine-tuned adapter is scored on
 * unseen stories; run it with `--model BASE --lora ADAPTER` to see base and base + adapter side by side.
 * @module
 */
import { STORY_QA_KINDS, storyInstructions } from '@andes/data';
import { type ChatTemplateName, chatTemplateText } from '@andes/tokenizer';
import type { GenerationItem, Task } from './task-file.js';

/** The task's name for `--tasks`. */
export const STORY_INSTRUCT_TASK = 'story-instruct';
/** Seed of the evaluation stories (fine-tuning's built-in set uses seed 1). */
export const STORY_INSTRUCT_EVAL_SEED = 2;

/** Options of {@link storyInstructTask}. */
export interface StoryInstructTaskOptions {
  /** Items (default 100). */
  items?: number;
  /** Chat template of the prompts (default llama-2, fine-tuning's default). */
  template?: ChatTemplateName;
}

/**
 * The task: generation items whose prompt is the user turn rendered with the template (BOS is added by the
 * evaluator), answers the short reply, stopping at a newline.
 */
export function storyInstructTask(options: StoryInstructTaskOptions = {}): Task {
  const count = options.items ?? 100;
  const template = options.template ?? 'llama-2';
  const items: GenerationItem[] = [];
  for (let start = 0; items.length < count; start += count) {
    for (const item of storyInstructions(STORY_INSTRUCT_EVAL_SEED, count, start)) {
      if (!STORY_QA_KINDS.includes(item.kind) || items.length >= count) continue;
      const prompt = chatTemplateText([{ role: 'user', content: item.instruction }], template, { bosToken: '' });
      items.push({
        kind: 'generation',
        prompt,
        answers: [item.answer],
        until: ['\n'],
        where: `builtin:${STORY_INSTRUCT_TASK}:${item.kind} ${items.length}`,
      });
    }
  }
  return { name: STORY_INSTRUCT_TASK, family: 'generation', items, train: [], chance: null };
}
