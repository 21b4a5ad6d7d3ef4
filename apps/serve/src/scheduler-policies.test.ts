/**
 * The scheduler's latency policies over a real engine whose steps are timed with a fake clock: a burst of arrivals
 * is prefilled in one forward, a short prompt does not wait behind a long one's prefill, and a step's prefill is
 * sized from the measured step cost so that the step stays within its target. Tokens equal each request's solo run.
 */
import { LlamaForCausalLM } from '@andes/nn';
import { seededUniform, setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedy, schedulerTestConfig, soloGreedy } from '../test/requests.js';
import { LlamaEngine } from './llama-engine.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

let model: LlamaForCausalLM;

beforeAll(async () => {
  await setBackend('cpu');
  model = new LlamaForCausalLM(schedulerTestConfig, { seed: 23 });
});

/**
 * A scheduler over a real engine on a fake clock: each forward "takes" `fixedMs + perRowMs · rows` of fake time.
 * The log holds each forward's chunks as `seq@start×n` and its fake duration.
 */
function timedScheduler(
  options: Partial<SchedulerOptions>,
  cost: { fixedMs: number; perRowMs: number; perChunkMs?: number } = { fixedMs: 2, perRowMs: 1 },
  maxSlots = 4,
) {
  const engine = new LlamaEngine(model, { maxSlots, maxContext: 64, blockSize: 4 });
  let now = 1000;
  const log: { chunks: string; ms: number; onStep?: () => void }[] = [];
  const hooks: (() => void)[] = [];
  const step = engine.step.bind(engine);
  engine.step = async (chunks) => {
    const rows = chunks.reduce((n, c) => n + c.ids.length, 0);
    const ms = cost.fixedMs + cost.perRowMs * rows + (cost.perChunkMs ?? 0) * chunks.length;
    log.push({ chunks: chunks.map((c) => `${c.seq}@${c.start}×${c.ids.length}`).join(' '), ms });
    hooks.shift()?.();
    const out = await step(chunks);
    now += ms;
    return out;
  };
  // The schedules below are written in whole prompts: the prompts share their first id, which partial-block prefix
  // reuse would copy (tested in scheduler-blocks, cut-in and partial-prefix tests).
  // Mixing unless a test names a prefill-first policy (an engine on this thread defaults to adaptive).
  const scheduler = new Scheduler(engine, {
    maxQueue: 16,
    clock: () => now,
    partialPrefix: false,
    prefillFirst: false,
    ...options,
  });
  /** Runs `fn` while the next forward is in flight (a request arriving during that step). */
  const duringNextStep = (fn: () => void) => hooks.push(fn);
  return { engine, scheduler, log, duringNextStep };
}

const solo = (prompt: readonly number[], n: number) => soloGreedy(model, prompt, n);

/** A prompt of `n` tokens starting with BOS, distinct per `salt`. */
const promptOf = (n: number, salt: number) => [
  1,
  ...Array.from({ length: n - 1 }, (_, j) => 2 + ((salt * 11 + j * 7) % 50)),
];

describe('Scheduler latency policies', () => {
  it('a short prompt arriving during a long prefill finishes its prefill in the very next step', async () => {
    const { engine, scheduler, log, duringNextStep } = timedScheduler({ prefillChunk: 8, targetStepMs: 0 });
    const long = greedy(promptOf(37, 1), 4);
    const short = greedy(promptOf(3, 2), 5);
    scheduler.submit(long.req);
    duringNextStep(() => scheduler.submit(short.req));
    await Promise.all([long.reason, short.reason]);
    // Step 1: the long prompt's first 8 tokens. Step 2: the short prompt whole (its first token is drawn), the rest
    // of the budget to the long one (decodes come on top of the budget); first-come-first-served would have made
    // it wait four steps.
    expect(log[0]!.chunks).toBe('0@0×8');
    expect(log[1]!.chunks).toBe('0@8×5 1@0×3');
    expect(log[2]!.chunks).toBe('1@3×1 0@13×8');
    expect(long.ids).toEqual(await solo(long.req.prompt, 4));
    expect(short.ids).toEqual(await solo(short.req.prompt, 5));
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('sizes a step’s prefill from the measured step cost, so a step with prefill stays within its target', async () => {
    // Each forward costs 2 ms + 1 ms per row; target 20 ms. A decoding sequence teaches the model the line.
    const { engine, scheduler, log } = timedScheduler({ targetStepMs: 20, minPrefillChunk: 4 });
    const running = greedy(promptOf(5, 3), 12);
    const long = greedy(promptOf(40, 4), 3);
    scheduler.submit(running.req);
    await new Promise<void>((resolve) => {
      const onToken = running.req.onToken;
      running.req.onToken = (ev) => {
        onToken(ev);
        if (running.ids.length === 3) {
          scheduler.submit(long.req);
          resolve();
        }
        return undefined;
      };
    });
    await Promise.all([running.reason, long.reason]);
    // Beside one decode: (20 − 2 − 1) / 1 = 17 prompt rows per step, so 40 tokens go as 17 + 17 + 6.
    const chunks = log.map((l) => l.chunks).filter((c) => c.includes('1@'));
    expect(chunks.slice(0, 3)).toEqual(['0@7×1 1@0×17', '0@8×1 1@17×17', '0@9×1 1@34×6']);
    for (const l of log.slice(1)) expect(l.ms).toBeLessThanOrEqual(20);
    expect(running.ids).toEqual(await solo(running.req.prompt, 12));
    expect(long.ids).toEqual(await solo(long.req.prompt, 3));
    // Without a target the whole prompt goes at once: one 43 ms step.
    const unbounded = timedScheduler({ targetStepMs: 0 });
    const again = greedy(promptOf(40, 4), 3);
    unbounded.scheduler.submit(again.req);
    await again.reason;
    expect(unbounded.log[0]).toMatchObject({ chunks: '0@0×40', ms: 42 });
    expect(again.ids).toEqual(long.ids);
    engine.dispose();
    unbounded.engine.dispose();
  });

  it('never prefills less than minPrefillChunk, however slow the steps are', async () => {
    const { engine, scheduler, log } = timedScheduler(
      { targetStepMs: 5, minPrefillChunk: 6 },
      { fixedMs: 30, perRowMs: 3 },
    );
    const a = greedy(promptOf(4, 5), 6);
    const b = greedy(promptOf(19, 6), 2);
    // Steps measured before (the model has no fit, hence no bound, until it has seen two step sizes).
    scheduler.stepCost.observe(1, 33);
    scheduler.stepCost.observe(10, 60);
    scheduler.submit(a.req);
    scheduler.submit(b.req);
    await Promise.all([a.reason, b.reason]);
    // Every step prefills 6 prompt tokens (the floor): A's 4 (shortest first) and 2 of B's, then B alone in
    // chunks of 6 beside A's decodes.
    expect(log.slice(0, 4).map((l) => l.chunks)).toEqual(['0@0×4 1@0×2', '0@4×1 1@2×6', '0@5×1 1@8×6', '0@6×1 1@14×5']);
    expect(a.ids).toEqual(await solo(a.req.prompt, 6));
    expect(b.ids).toEqual(await solo(b.req.prompt, 2));
    engine.dispose();
  });

  it('prefill first: a prompt arriving among decodes runs alone in the next step, and decodes never wait two steps', async () => {
    const { engine, scheduler, log, duringNextStep } = timedScheduler({ prefillFirst: true, targetStepMs: 0 });
    const a = greedy(promptOf(5, 7), 8);
    const b = greedy(promptOf(6, 8), 6);
    const c = greedy(promptOf(4, 9), 3);
    const d = greedy(promptOf(3, 10), 2);
    scheduler.submit(a.req);
    scheduler.submit(b.req);
    // A and B prefill together, then decode; C arrives during their first decode step, D during C's prefill.
    duringNextStep(() => undefined);
    duringNextStep(() => scheduler.submit(c.req));
    duringNextStep(() => scheduler.submit(d.req));
    await Promise.all([a.reason, b.reason, c.reason, d.reason]);
    expect(log.slice(0, 5).map((l) => l.chunks)).toEqual([
      '0@0×5 1@0×6',
      '0@5×1 1@6×1',
      // C's whole prompt in a step without the decodes (mixed, it would have waited for both rows beside it).
      '2@0×4',
      // D arrived during a prefill-only step, so this step decodes first and prefills D beside the decodes.
      '0@6×1 1@7×1 2@4×1 3@0×3',
      '0@7×1 1@8×1 2@5×1 3@3×1',
    ]);
    expect(a.ids).toEqual(await solo(a.req.prompt, 8));
    expect(b.ids).toEqual(await solo(b.req.prompt, 6));
    expect(c.ids).toEqual(await solo(c.req.prompt, 3));
    expect(d.ids).toEqual(await solo(d.req.prompt, 2));
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  /** The adaptive tests' engine: 1 ms a step, 2 ms a chunk (its row of logits), 1 ms a row; its fit seeded. */
  const adaptiveCost = { fixedMs: 1, perChunkMs: 2, perRowMs: 1 };
  const seedCost = (scheduler: Scheduler) => {
    for (const [chunks, rows] of [
      [1, 1],
      [4, 4],
      [1, 10],
    ] as const) {
      scheduler.chunkCost.observe(chunks, rows, 1 + 2 * chunks + rows);
    }
  };

  it('adaptive prefill first: prompts run alone while the decodes wait at most three decode steps', async () => {
    const { engine, scheduler, log, duringNextStep } = timedScheduler(
      { prefillFirst: 'adaptive', targetStepMs: 0 },
      adaptiveCost,
      8,
    );
    seedCost(scheduler);
    const first = [greedy(promptOf(3, 11), 9), greedy(promptOf(4, 12), 9), greedy(promptOf(5, 13), 9)];
    const d = greedy(promptOf(3, 14), 9);
    const x = greedy(promptOf(2, 15), 4);
    const y = greedy(promptOf(6, 16), 4);
    const z = greedy(promptOf(44, 17), 3);
    for (const r of [...first, d]) scheduler.submit(r.req);
    duringNextStep(() => undefined);
    duringNextStep(() => scheduler.submit(x.req));
    duringNextStep(() => scheduler.submit(y.req));
    duringNextStep(() => scheduler.submit(z.req));
    const all = [...first, d, x, y, z];
    await Promise.all(all.map((r) => r.reason));
    expect(log.slice(0, 5).map((l) => l.chunks)).toEqual([
      '0@0×3 1@0×4 2@0×5 3@0×3',
      '0@3×1 1@4×1 2@5×1 3@3×1',
      // X alone: 5 ms against three 4-row decode steps (39 ms).
      '4@0×2',
      // Y alone too: the decodes have waited 5 ms, and 5 + 9 ms stays within three 5-row decode steps (48 ms).
      '5@0×6',
      // Z would make them wait 14 + 47 ms, more than three 6-row decode steps (57 ms): beside the decodes.
      '0@4×1 1@5×1 2@6×1 3@4×1 4@2×1 5@6×1 6@0×44',
    ]);
    expect(log.map((l) => l.ms).slice(1, 4)).toEqual([13, 5, 9]);
    for (const r of all) expect(r.ids).toEqual(await solo(r.req.prompt, r.req.maxTokens));
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('adaptive prefill first: a prompt dearer than the decodes’ step goes beside them (always would run it alone)', async () => {
    const runs: string[][] = [];
    for (const policy of ['adaptive', true] as const) {
      const { engine, scheduler, log, duringNextStep } = timedScheduler(
        { prefillFirst: policy, targetStepMs: 0 },
        adaptiveCost,
      );
      seedCost(scheduler);
      const a = greedy(promptOf(3, 18), 6);
      const b = greedy(promptOf(4, 19), 6);
      const long = greedy(promptOf(20, 20), 3);
      scheduler.submit(a.req);
      scheduler.submit(b.req);
      duringNextStep(() => undefined);
      duringNextStep(() => scheduler.submit(long.req));
      await Promise.all([a.reason, b.reason, long.reason]);
      runs.push(log.slice(0, 4).map((l) => l.chunks));
      expect(long.ids).toEqual(await solo(long.req.prompt, 3));
      expect(a.ids).toEqual(await solo(a.req.prompt, 6));
      expect(engine.blocks.usedBlocks).toBe(0);
      engine.dispose();
    }
    // Adaptive: the 20-row prompt (23 ms) against three 2-row decode steps (21 ms): mixed. Always: alone first.
    expect(runs[0]!.slice(2, 4)).toEqual(['0@4×1 1@5×1 2@0×20', '0@5×1 1@6×1 2@20×1']);
    expect(runs[1]!.slice(2, 4)).toEqual(['2@0×20', '0@4×1 1@5×1 2@20×1']);
  });

  it('adaptive prefill first: while requests wait for a slot, an admitted prompt goes beside the decodes', async () => {
    const runs: string[][] = [];
    for (const backlog of [false, true]) {
      const { engine, scheduler, log, duringNextStep } = timedScheduler(
        { prefillFirst: 'adaptive', targetStepMs: 0 },
        adaptiveCost,
        3,
      );
      seedCost(scheduler);
      const a = greedy(promptOf(3, 61), 8);
      const c = greedy(promptOf(3, 62), 8);
      const b = greedy(promptOf(3, 63), 2);
      const x = greedy(promptOf(3, 64), 3);
      const y = greedy(promptOf(4, 65), 3);
      for (const r of [a, c, b]) scheduler.submit(r.req);
      duringNextStep(() => undefined);
      // During the step in which B ends: X arrives (and Y too, one more than the slot B frees).
      duringNextStep(() => {
        scheduler.submit(x.req);
        if (backlog) scheduler.submit(y.req);
      });
      const all = backlog ? [a, c, b, x, y] : [a, c, b, x];
      await Promise.all(all.map((r) => r.reason));
      runs.push(log.slice(0, 3).map((l) => l.chunks));
      for (const r of all) expect(r.ids).toEqual(await solo(r.req.prompt, r.req.maxTokens));
      expect(engine.blocks.usedBlocks).toBe(0);
      engine.dispose();
    }
    const start = ['0@0×3 1@0×3 2@0×3', '0@3×1 1@3×1 2@3×1'];
    // X alone (6 ms, against 12 ms beside the two decodes) when it is all that waits; beside the decodes when Y
    // waits for a slot behind it.
    expect(runs[0]).toEqual([...start, '3@0×3']);
    expect(runs[1]).toEqual([...start, '0@4×1 1@4×1 3@0×3']);
  });

  it('adaptive prefill first mixes until the step costs are fitted', async () => {
    const { engine, scheduler, log, duringNextStep } = timedScheduler(
      { prefillFirst: 'adaptive', targetStepMs: 0 },
      adaptiveCost,
    );
    const a = greedy(promptOf(3, 71), 6);
    const b = greedy(promptOf(4, 72), 6);
    const c = greedy(promptOf(3, 73), 3);
    scheduler.submit(a.req);
    scheduler.submit(b.req);
    duringNextStep(() => undefined);
    duringNextStep(() => scheduler.submit(c.req));
    await Promise.all([a.reason, b.reason, c.reason]);
    // By the third step two shapes were seen (a prefill, a decode): no fit yet, so C goes beside the decodes (with
    // the fit seeded it would run alone). The steps after it give the fit.
    expect(log.slice(0, 3).map((l) => l.chunks)).toEqual(['0@0×3 1@0×4', '0@3×1 1@4×1', '0@4×1 1@5×1 2@0×3']);
    expect(scheduler.chunkCost.fit()).not.toBeNull();
    for (const r of [a, b, c]) expect(r.ids).toEqual(await solo(r.req.prompt, r.req.maxTokens));
    engine.dispose();
  });

  it('defaults to adaptive prefill first where the engine steps on this thread, off where it steps off it', () => {
    const engine = new LlamaEngine(model, { maxSlots: 2, maxContext: 64, blockSize: 4 });
    expect(new Scheduler(engine, { maxQueue: 4 }).prefillFirst).toBe('adaptive');
    expect(new Scheduler(engine, { maxQueue: 4, prefillFirst: false }).prefillFirst).toBe(false);
    const offThread = Object.assign(Object.create(engine) as LlamaEngine, { stepsOffThread: true });
    expect(new Scheduler(offThread, { maxQueue: 4 }).prefillFirst).toBe(false);
    expect(new Scheduler(offThread, { maxQueue: 4, prefillFirst: true }).prefillFirst).toBe(true);
    engine.dispose();
  });

  it('adaptive prefill first, random arrivals: every request ends with its solo tokens, decodes wait within the bound', async () => {
    const { engine, scheduler, log, duringNextStep } = timedScheduler(
      { prefillFirst: 'adaptive', targetStepMs: 0 },
      adaptiveCost,
    );
    seedCost(scheduler);
    const rand = seededUniform(57);
    const reqs = Array.from({ length: 14 }, (_, i) =>
      greedy(promptOf(1 + Math.floor(rand() * 23), 30 + i), 2 + Math.floor(rand() * 7)),
    );
    scheduler.submit(reqs[0]!.req);
    scheduler.submit(reqs[1]!.req);
    // The rest arrive during random steps, up to two per step.
    let next = 2;
    while (next < reqs.length) {
      const n = Math.min(reqs.length - next, Math.floor(rand() * 3));
      const batch = reqs.slice(next, next + n);
      next += n;
      duringNextStep(() => {
        for (const r of batch) scheduler.submit(r.req);
      });
    }
    await Promise.all(reqs.map((r) => r.reason));
    for (const r of reqs) expect(r.ids).toEqual(await solo(r.req.prompt, r.req.maxTokens));
    expect(engine.blocks.usedBlocks).toBe(0);
    // Replay the log: a sequence decodes from the step that completes its prompt until its last decode. A step without
    // decode chunks while some sequence decodes is prefill-only; the decodes' wait through such steps, this one's cost
    // included, stays within three predicted decode steps (the fit is exact: 1 + 3 ms per decode).
    const promptLen = reqs.map((r) => r.req.prompt.length);
    const lastPos = reqs.map((r) => r.req.prompt.length + r.req.maxTokens - 2);
    const decoding = new Set<number>();
    let waited = 0;
    let prefillOnly = 0;
    for (const { chunks, ms } of log) {
      const parsed = chunks.split(' ').map((c) => c.split(/[@×]/).map(Number) as [number, number, number]);
      const decodes = parsed.filter(([seq, start, n]) => n === 1 && start >= promptLen[seq]!);
      if (decoding.size > 0 && decodes.length === 0) {
        prefillOnly++;
        waited += ms;
        expect(waited).toBeLessThanOrEqual(3 * (1 + 3 * decoding.size) + 1e-9);
      } else waited = 0;
      for (const [seq, start, n] of parsed) {
        if (start + n === promptLen[seq]) decoding.add(seq);
        if (start === lastPos[seq] || (start + n === promptLen[seq] && reqs[seq]!.req.maxTokens === 1)) {
          decoding.delete(seq);
        }
      }
    }
    expect(prefillOnly).toBeGreaterThan(0);
    engine.dispose();
  });
});
