/**
 * Cut-ins (`SchedulerOptions.cutIn`) over a real engine: a prompt that arrives while a step runs is run on its own
 * before that step returns and its first token delivered at once; a burst larger than `cutInMaxRows` waits for the
 * next step, as does everything with cut-ins off. Tokens equal each request's solo run, and every block comes back.
 */
import { LlamaForCausalLM } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedy, schedulerTestConfig, soloGreedy } from '../test/requests.js';
import type { StepChunk } from './engine.js';
import { LlamaEngine } from './llama-engine.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

let model: LlamaForCausalLM;

beforeAll(async () => {
  await setBackend('cpu');
  model = new LlamaForCausalLM(schedulerTestConfig, { seed: 29 });
});

const show = (chunks: readonly StepChunk[]) => chunks.map((c) => `${c.seq}@${c.start}×${c.ids.length}`).join(' ');

/**
 * A scheduler over an engine whose steps stay in flight for 15 ms after computing (as a worker's would) and that
 * offers `cutIn` (a forward of its own). The log holds `step …` when a step starts, `cut …` for a cut-in and
 * `end` when a step returns; `duringNextStep(fn)` runs fn right after the next step starts.
 */
function cutInScheduler(options: Partial<SchedulerOptions>) {
  const engine = new LlamaEngine(model, { maxSlots: 6, maxContext: 64, blockSize: 4 });
  const log: string[] = [];
  const hooks: (() => void)[] = [];
  const step = engine.step.bind(engine);
  const offThread = engine as unknown as { stepsOffThread: boolean; cutIn: typeof engine.step };
  offThread.stepsOffThread = true;
  engine.step = async (chunks) => {
    log.push(`step ${show(chunks)}`);
    const out = await step(chunks);
    hooks.shift()?.();
    await new Promise((r) => setTimeout(r, 15));
    log.push('end');
    return out;
  };
  offThread.cutIn = async (chunks) => {
    log.push(`cut ${show(chunks)}`);
    return step(chunks);
  };
  const scheduler = new Scheduler(engine, { maxQueue: 16, targetStepMs: 0, ...options });
  return { engine, scheduler, log, duringNextStep: (fn: () => void) => hooks.push(fn) };
}

const solo = (prompt: readonly number[], n: number) => soloGreedy(model, prompt, n);

const promptOf = (n: number, salt: number) => [
  1,
  ...Array.from({ length: n - 1 }, (_, j) => 2 + ((salt * 13 + j * 5) % 50)),
];

describe('Scheduler cut-ins', () => {
  it('run a prompt arriving during a step before that step returns, and deliver its first token then', async () => {
    const { engine, scheduler, log, duringNextStep } = cutInScheduler({});
    const a = greedy(promptOf(9, 1), 6);
    const b = greedy(promptOf(7, 2), 5);
    let firstOfB = -1;
    const onToken = b.req.onToken;
    b.req.onToken = (ev) => {
      if (firstOfB < 0) firstOfB = log.length;
      return onToken(ev);
    };
    scheduler.submit(a.req);
    duringNextStep(() => {}); // a's prefill
    duringNextStep(() => scheduler.submit(b.req)); // during a's first decode step
    await Promise.all([a.reason, b.reason]);
    await scheduler.idle();
    // b's first id is a's first: it is copied from a's first block (see KvBlockPool), so b computes 6 rows.
    const cut = log.indexOf('cut 1@1×6');
    expect(cut, log.join(' | ')).toBeGreaterThan(0);
    // The cut-in ran and b's first token was delivered inside a's decode step (before its `end`).
    expect(log[cut - 1]).toBe('step 0@9×1');
    expect(log[cut + 1]).toBe('end');
    expect(firstOfB).toBe(cut + 1);
    // b decodes beside a from the next step on.
    expect(log[cut + 2]).toBe('step 0@10×1 1@7×1');
    expect(a.ids).toEqual(await solo(promptOf(9, 1), 6));
    expect(b.ids).toEqual(await solo(promptOf(7, 2), 5));
    expect(engine.blocks.usedBlocks).toBe(0);
  });

  it('leave a burst over cutInMaxRows, and everything with cutIn false, to the next step', async () => {
    // The burst computes 5 + 7 rows (each copies the first id, shared with a's prompt): more than 11.
    for (const options of [{ cutInMaxRows: 11 }, { cutIn: false }]) {
      const { engine, scheduler, log, duringNextStep } = cutInScheduler(options);
      const a = greedy(promptOf(5, 3), 4);
      const burst = [greedy(promptOf(6, 4), 3), greedy(promptOf(8, 5), 3)];
      scheduler.submit(a.req);
      duringNextStep(() => {});
      duringNextStep(() => {
        for (const r of burst) scheduler.submit(r.req);
      });
      await Promise.all([a, ...burst].map((r) => r.reason));
      await scheduler.idle();
      expect(
        log.some((l) => l.startsWith('cut')),
        log.join(' | '),
      ).toBe(false);
      expect(log, log.join(' | ')).toContain('step 0@6×1 1@1×5 2@1×7');
      for (const [i, r] of [a, ...burst].entries()) {
        expect(r.ids).toEqual(await solo(promptOf([5, 6, 8][i]!, 3 + i), [4, 3, 3][i]!));
      }
      expect(engine.blocks.usedBlocks).toBe(0);
    }
  });

  it('keep the blocks of a sequence cancelled during its cut-in until the cut-in returns', async () => {
    const { engine, scheduler, log, duringNextStep } = cutInScheduler({});
    const a = greedy(promptOf(5, 6), 5);
    const b = greedy(promptOf(9, 7), 5);
    scheduler.submit(a.req);
    duringNextStep(() => {});
    let usedDuringCut = -1;
    const offThread = engine as unknown as { cutIn: (c: readonly StepChunk[]) => Promise<unknown> };
    const cutIn = offThread.cutIn;
    offThread.cutIn = async (chunks) => {
      handle.cancel();
      // Past the end of the step it cut into: only the cut-in holds b now.
      await new Promise((r) => setTimeout(r, 40));
      usedDuringCut = engine.blocks.usedBlocks;
      return cutIn(chunks);
    };
    let handle!: { cancel(): void };
    duringNextStep(() => {
      handle = scheduler.submit(b.req);
    });
    await Promise.all([a.reason, b.reason]);
    await scheduler.idle();
    expect(await b.reason).toBe('cancelled');
    expect(b.ids).toEqual([]);
    // a's blocks (2) and b's (3: 9 positions and its first new one) were all held while the cut-in ran.
    expect(usedDuringCut, log.join(' | ')).toBe(5);
    expect(a.ids).toEqual(await solo(promptOf(5, 6), 5));
    expect(engine.blocks.usedBlocks).toBe(0);
  });
});
