import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveLoraAdapter, saveModelDir } from '@andes/checkpoint';
import { storyInstructions, syntheticStory } from '@andes/data';
import { applyLora, LlamaForCausalLM, llamaConfig, loraAdapters } from '@andes/nn';
import { setBackend, tensor } from '@andes/tensor';
import { trainBpe } from '@andes/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTasks, runTasks } from './commands.js';
import { STORY_INSTRUCT_TASK, storyInstructTask } from './instruction-task.js';
import type { GenerationItem } from './task-file.js';

const root = mkdtempSync(join(tmpdir(), 'andes-eval-lora-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  await setBackend('cpu');
});

describe('story-instruct task', () => {
  it('asks Llama 2 chat questions about unseen stories whose short answers are in the prompt', () => {
    const task = storyInstructTask({ items: 40 });
    expect(task.items.length).toBe(40);
    expect(resolveTasks([STORY_INSTRUCT_TASK], 40)[0]).toEqual(task);
    const training = new Set(storyInstructions(1, 3000).map((i) => i.story));
    for (const item of task.items as GenerationItem[]) {
      expect(item.prompt).toMatch(
        /^\[INST\] [\s\S]+\n[A-Z][^\n]*\? \[\/INST\]$|^\[INST\] [\s\S]+\nGive the story a title\. \[\/INST\]$/,
      );
      const story = item.prompt.slice('[INST] '.length, item.prompt.lastIndexOf('\n'));
      expect(training.has(story)).toBe(false);
      for (const word of (item.answers[0] as string).split(' ').filter((w) => !['a', 'and', 'the'].includes(w)))
        expect(story.toLowerCase()).toContain(word.toLowerCase());
    }
    const kinds = new Set((task.items as GenerationItem[]).map((i) => i.where.split(':')[2]?.split(' ')[0]));
    expect([...kinds].sort()).toEqual(['friend', 'title', 'what', 'where', 'who']);
  });

  it('--lora scores the base and the base + adapter side by side', async () => {
    const tokenizer = await trainBpe(
      Array.from({ length: 6 }, (_, i) => syntheticStory(7, i)),
      { vocabSize: 300 },
    );
    const config = llamaConfig({
      vocab_size: tokenizer.vocabSize,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      initializer_range: 0.3,
      bos_token_id: tokenizer.bosId,
      eos_token_id: tokenizer.eosId,
    });
    const model = new LlamaForCausalLM(config, { seed: 2 });
    await saveModelDir(join(root, 'base'), { config, model, tokenizer });
    applyLora(model, { r: 2, alpha: 4, targets: ['q_proj', 'o_proj'], seed: 1 });
    for (const adapter of loraAdapters(model).values()) {
      const b = adapter.loraB.weight;
      b.assign(
        tensor(
          Float32Array.from({ length: b.size }, (_, i) => Math.sin(i + 1)),
          [...b.shape],
        ),
      );
    }
    await saveLoraAdapter(join(root, 'adapter'), model, {
      r: 2,
      alpha: 4,
      targets: ['q_proj', 'o_proj'],
      dropout: 0.1,
      baseModel: '',
    });
    const task = {
      name: 'pick',
      family: 'multiple_choice' as const,
      items: [
        {
          kind: 'choice' as const,
          context: 'Lily went to the',
          choices: [' park', ' lake', ' farm'],
          label: 0,
          where: 'x:1',
        },
        { kind: 'choice' as const, context: 'Tom had a red', choices: [' ball', ' kite'], label: 1, where: 'x:2' },
      ],
      train: [],
      chance: 0.4,
    };
    const base = join(root, 'base');
    const report = await runTasks({
      models: [base],
      lora: join(root, 'adapter'),
      tasks: [task],
      logSamples: true,
      progress: null,
    });
    expect(report.models.map((m) => m.model)).toEqual([base, `${base} + ${join(root, 'adapter')}`]);
    const loglik = report.models.map((m) => m.results[0]?.samples?.map((s) => s.logprobs));
    expect(loglik[0]?.[0]?.length).toBe(3);
    expect(loglik[0]).not.toEqual(loglik[1]);
    // The adapter's dropout is off while scoring: a second run gives the same numbers.
    const again = await runTasks({
      models: [base],
      lora: join(root, 'adapter'),
      tasks: [task],
      logSamples: true,
      progress: null,
    });
    expect(again.models[1]?.results[0]?.samples).toEqual(report.models[1]?.results[0]?.samples);
    model.dispose();
  });
});
