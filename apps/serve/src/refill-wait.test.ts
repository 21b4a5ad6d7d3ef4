/**
 * Refill waits: the follow-up record (FollowUps) on a fake clock, and the scheduler over a real engine whose steps
 * take 100 ms more (as a lavapipe step does), with closed-loop clients that send their next request a few
 * milliseconds after the last one ends: with waits, each follow-up joins the step right after the end; without (or
 * with clients that do not follow), steps never wait.
 */
import { DEFAULT_SAMPLING, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { LlamaEngine } from './llama-engine.js';
import { ServeMetrics } from './metrics.js';
import { FollowUps } from './refill-wait.js';
import { Scheduler, type SequenceRequest } from './scheduler.js';

describe('FollowUps', () => {
  it('answers the oldest open end with each arrival inside the window and expires the rest', () => {
    const f = new FollowUps(10);
    f.ended(0);
    f.ended(2);
    expect(f.unanswered(3)).toBe(2);
    expect(f.deadline(3)).toBe(10);
    // A step's time below the window caps the deadline.
    expect(f.deadline(3, 4)).toBe(4);
    f.arrived(5);
    expect(f.unanswered(5)).toBe(1);
    expect(f.deadline(5)).toBe(12);
    // The second end's window closes unanswered; a later arrival answers nothing.
    expect(f.unanswered(12.5)).toBe(0);
    f.arrived(13);
    expect(f.deadline(13)).toBeUndefined();
  });

  it('is likely only after most of at least four recent ends were followed, and forgets beyond 32', () => {
    const f = new FollowUps(5);
    let t = 0;
    const end = (followed: boolean) => {
      f.ended(t);
      if (followed) f.arrived(t + 1);
      t += 10; // past the window: an unanswered end expires at the next call
    };
    for (let i = 0; i < 3; i++) end(true);
    expect(f.likely(t)).toBe(false); // three outcomes: too few to earn a wait
    end(true);
    expect(f.likely(t)).toBe(true);
    for (let i = 0; i < 4; i++) end(false);
    expect(f.likely(t)).toBe(false); // 4 of 8: not more than half
    end(true);
    expect(f.likely(t)).toBe(true); // 5 of 9
    // 32 unanswered ends push every answered one out of the record.
    for (let i = 0; i < 32; i++) end(false);
    for (let i = 0; i < 16; i++) end(true);
    expect(f.likely(t)).toBe(false); // 16 of 32: not more than half
    end(true);
    expect(f.likely(t)).toBe(true); // 17 of 32
  });
});

let model: LlamaForCausalLM;
beforeAll(async () => {
  await setBackend('cpu');
  const config = llamaConfig({
    vocab_size: 53,
    hidden_size: 16,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 48,
    eos_token_id: 52,
    bos_token_id: 1,
  });
  model = new LlamaForCausalLM(config, { seed: 5 });
});

/** A step's extra time: a wait may last a quarter of it, 25 ms, against follow-ups 3 ms after their end. */
const STEP_MS = 100;

/**
 * `clients` closed-loop clients, each sending `perClient` requests (client c: 3 + 2c or 4 + 2c tokens, so the clients
 * end in different steps) one after another, the next `followMs` after the last ends (null: all at once at the start,
 * none following an end), over an engine whose steps take STEP_MS more. Returns, per request after each client's
 * first, how many steps started between its submission and its first token, the one running at submission included
 * (1: it joined the next step); the refill waits observed, and how many of them lasted at most 50 ms.
 */
async function closedLoop(refillWaitMs: number | undefined, followMs: number | null, clients = 3, perClient = 6) {
  const engine = new LlamaEngine(model, { maxSlots: 4, maxContext: 48 });
  let started = 0;
  let inStep = false;
  const step = engine.step.bind(engine);
  engine.step = async (chunks) => {
    started++;
    inStep = true;
    const out = await step(chunks);
    await new Promise((r) => setTimeout(r, STEP_MS));
    inStep = false;
    return out;
  };
  const metrics = new ServeMetrics(
    () => 0,
    () => 0,
    () => 4,
  );
  // Refill waits alone: prefill-only steps (the default for an engine on this thread) would change the step count.
  const s = new Scheduler(engine, { maxQueue: 32, refillWaitMs, metrics, prefillFirst: false });
  const stepsToFirst: number[] = [];
  const client = (c: number) =>
    new Promise<void>((resolve) => {
      let sent = 0;
      let finished = 0;
      const send = () => {
        const r = sent++;
        // A step running at submission is one more it waits for (its prompt can only join the next).
        const at = started - (inStep ? 1 : 0);
        let first = true;
        const req: SequenceRequest = {
          prompt: [1, 2 + c, 3 + r],
          maxTokens: 3 + 2 * c + (r % 2),
          sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
          eosIds: [-1],
          topLogprobs: -1,
          onToken: () => {
            if (first && r > 0) stepsToFirst.push(started - at);
            first = false;
            return undefined;
          },
          onFinish: () => {
            if (++finished === perClient) resolve();
            else if (followMs !== null && sent < perClient) setTimeout(send, followMs);
          },
        };
        s.submit(req);
      };
      if (followMs === null) {
        // Open loop: every request submitted up front, none in answer to an end.
        for (let i = 0; i < perClient; i++) send();
      } else send();
    });
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  await s.idle();
  expect(engine.blocks.usedBlocks).toBe(0);
  engine.dispose();
  // Waits of at most 50 ms, from the histogram's text (bucket le="0.05" counts them).
  const text = metrics.refillWaitSeconds.render();
  const short = Number(/le="0\.05"\} (\d+)/.exec(text)?.[1]);
  return { stepsToFirst, waits: metrics.refillWaitSeconds.observations, short };
}

describe('Scheduler refill waits (steps of 100 ms)', () => {
  it('let closed-loop follow-ups join the step right after the end, once ends have been followed', async () => {
    const on = await closedLoop(200, 3);
    const off = await closedLoop(0, 3);
    // Without waits a follow-up arrives while the next step runs and is prefilled in the one after (2 starts).
    expect(off.waits).toBe(0);
    expect(off.stepsToFirst.filter((n) => n === 1).length).toBeLessThanOrEqual(2);
    // With them, once four ends were followed, the next step waits for it (1 start): the last 8 follow-ups, but for
    // one that a stalled event loop may delay past its wait.
    expect(on.waits).toBeGreaterThan(0);
    expect(on.stepsToFirst.slice(-8).filter((n) => n === 1).length).toBeGreaterThanOrEqual(7);
    // Each client's last end goes unanswered: its wait stops at a quarter of a step (~25 ms), not at the 200-ms
    // window.
    expect(on.short).toBe(on.waits);
  });

  it('are on by default where the engine steps on this thread, and refuse a negative window', async () => {
    const { waits, stepsToFirst } = await closedLoop(undefined, 3);
    expect(waits).toBeGreaterThan(0);
    expect(stepsToFirst.slice(-8).filter((n) => n === 1).length).toBeGreaterThanOrEqual(7);
    const engine = new LlamaEngine(model, { maxSlots: 2, maxContext: 48 });
    expect(() => new Scheduler(engine, { maxQueue: 4, refillWaitMs: -1 })).toThrow(/refillWaitMs must be ≥ 0, got -1/);
    engine.dispose();
  });

  it('never wait for clients that do not follow their ends', async () => {
    const { waits } = await closedLoop(200, null);
    expect(waits).toBe(0);
  });
});
