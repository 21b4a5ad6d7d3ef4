/**
 * The scheduler's KV-block policy over a real engine: prefix sharing by blocks, admission by free blocks,
 * preemption when blocks run out mid-generation, and block accounting under cancellations.
 */
import { LlamaForCausalLM, llamaConfig, PagedKvCache } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedy, soloGreedy } from '../test/requests.js';
import { LlamaEngine } from './llama-engine.js';
import { ServeMetrics } from './metrics.js';
import { type FinishReason, Scheduler, type SequenceRequest } from './scheduler.js';

let model: LlamaForCausalLM;

beforeAll(async () => {
  await setBackend('cpu');
  const config = llamaConfig({
    vocab_size: 61,
    hidden_size: 24,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    num_key_value_heads: 1,
    max_position_embeddings: 40,
  });
  model = new LlamaForCausalLM(config, { seed: 11 });
});

/** An engine with `numBlocks` blocks of 4 positions, whose forwards are recorded (chunks as `seq@start×n`). */
function engineWith(maxSlots: number, numBlocks: number, maxContext = 40) {
  const kvBudgetBytes = numBlocks * PagedKvCache.bytesPerBlock(model.config, 4);
  const engine = new LlamaEngine(model, { maxSlots, maxContext, blockSize: 4, kvBudgetBytes });
  const log: string[] = [];
  const step = engine.step.bind(engine);
  engine.step = (chunks) => {
    log.push(chunks.map((c) => `${c.seq}@${c.start}×${c.ids.length}`).join(' '));
    return step(chunks);
  };
  return { engine, log };
}

const solo = (prompt: readonly number[], n: number) => soloGreedy(model, prompt, n);

const metrics = () =>
  new ServeMetrics(
    () => 0,
    () => 0,
    () => 0,
  );

describe('Scheduler KV blocks', () => {
  it('two requests with one system prompt share its full blocks, copy its rest, give the tokens of their solo runs', async () => {
    const { engine, log } = engineWith(4, 40);
    const m = metrics();
    const s = new Scheduler(engine, { maxQueue: 8, metrics: m });
    const system = [1, 40, 41, 42, 43, 44, 45, 46, 47, 48]; // 10 tokens: two full blocks of 4
    const a = greedy([...system, 9, 10], 6);
    let b: ReturnType<typeof greedy> | null = null;
    // B arrives while A runs: A's two full system blocks are in the prefix cache by then.
    const onToken = a.req.onToken;
    a.req.onToken = (ev) => {
      onToken(ev);
      if (a.ids.length === 1) {
        b = greedy([...system, 20, 21, 22], 5);
        s.submit(b.req);
      }
      return undefined;
    };
    s.submit(a.req);
    await a.reason;
    await b!.reason;
    // B's prefill started after the 10 shared positions: two whole blocks, and 2 positions copied from A's third.
    expect(log.some((l) => l.includes('1@10×3'))).toBe(true);
    expect(a.ids).toEqual(await solo([...system, 9, 10], 6));
    expect(b!.ids).toEqual(await solo([...system, 20, 21, 22], 5));
    // C comes after both finished: the blocks are free but still cached, and reused.
    const c = greedy([...system, 30], 3);
    s.submit(c.req);
    await c.reason;
    expect(log.at(-3)).toBe('2@10×1');
    expect(c.ids).toEqual(await solo([...system, 30], 3));
    expect(m.render()).toMatch(/^andes_prefix_cache_tokens_total 20$/m);
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('partialPrefix false shares whole blocks only; both ways give the solo tokens and free every block', async () => {
    const system = [1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]; // two whole blocks of 4, and 3 ids of a third
    for (const partialPrefix of [true, false]) {
      const { engine, log } = engineWith(2, 20);
      const s = new Scheduler(engine, { maxQueue: 8, partialPrefix });
      for (const [i, tail] of [[9, 10, 11], [20], [21, 22, 23, 24, 25]].entries()) {
        const r = greedy([...system, ...tail], 3);
        s.submit(r.req);
        await r.reason;
        expect(r.ids, `request ${i}, partialPrefix ${partialPrefix}`).toEqual(await solo(r.req.prompt, 3));
      }
      // Each request's first chunk (the steps run one request at a time here).
      const prefills = [0, 1, 2].map((seq) => log.find((l) => l.startsWith(`${seq}@`)));
      expect(prefills).toEqual(partialPrefix ? ['0@0×14', '1@11×1', '2@11×5'] : ['0@0×14', '1@8×4', '2@8×8']);
      expect(engine.blocks.usedBlocks).toBe(0);
      engine.dispose();
    }
  });

  it('prefix sharing stays off below the threshold and for prompt log-probabilities', async () => {
    const { engine, log } = engineWith(2, 20);
    const s = new Scheduler(engine, { maxQueue: 8, prefixCacheMinTokens: 8 });
    const run = async (prompt: number[], extra: Partial<SequenceRequest> = {}) => {
      const r = greedy(prompt, 1);
      s.submit({ ...r.req, ...extra });
      await r.reason;
    };
    await run([1, 2, 3, 4, 5, 6, 7]);
    await run([1, 2, 3, 4, 5, 6, 9]); // one shared full block (4 tokens) < 8: prefilled from 0
    await run([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await run([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]); // two shared blocks (8 tokens): reused
    await run([1, 2, 3, 4, 5, 6, 7, 8, 9, 11], { promptLogprobs: true, topLogprobs: 0, onPromptLogprobs: () => {} });
    expect(log.map((l) => l.split('×')[0])).toEqual(['0@0', '1@0', '2@0', '3@8', '4@0']);
    engine.dispose();
  });

  it('queues while free blocks are short, though the batch has room, and admits when blocks free up', async () => {
    // 10 blocks of 4: each request below needs ⌈(9 + 1) / 4⌉ = 3 blocks to be admitted, so three run at once.
    const { engine, log } = engineWith(8, 10, 24);
    const s = new Scheduler(engine, { maxQueue: 8 });
    const runs = Array.from({ length: 5 }, (_, i) => greedy([1, 2 + i, 3, 4, 5, 6, 7, 8, 9 + i], 2));
    for (const r of runs) s.submit(r.req);
    await Promise.all(runs.map((r) => r.reason));
    for (const r of runs) expect(r.ids).toEqual(await solo(r.req.prompt, 2));
    // No forward ever held more than three sequences, and the last two started only after earlier ones finished.
    expect(Math.max(...log.map((l) => l.split(' ').length))).toBe(3);
    // (Those admitted after the first three start with a copy of 1 position: the 1 of an earlier first block.)
    const firstOf = (seq: number) => log.findIndex((l) => l.split(' ').some((c) => c.startsWith(`${seq}@`)));
    expect(firstOf(3)).toBeGreaterThan(firstOf(0) + 1);
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('preempts the youngest sequence when blocks run out mid-generation; it resumes with the same tokens', async () => {
    // 9 blocks of 4 = 36 positions; three sequences that each grow to 5 + 14 = 19 positions (5 blocks) cannot all
    // fit at once: the youngest is preempted, requeued, and recomputed from its prompt and tokens so far.
    const { engine } = engineWith(4, 9, 36);
    const m = metrics();
    const s = new Scheduler(engine, { maxQueue: 8, metrics: m });
    const runs = [0, 1, 2].map((i) => greedy([1, 10 + i, 20 + i, 30 + i, 5], 14));
    for (const r of runs) s.submit(r.req);
    const reasons = await Promise.all(runs.map((r) => r.reason));
    expect(reasons).toEqual(['length', 'length', 'length']);
    expect(Number(/^andes_preemptions_total (\d+)$/m.exec(m.render())![1])).toBeGreaterThan(0);
    for (const r of runs) expect(r.ids).toEqual(await solo(r.req.prompt, 14));
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('never leaks blocks: after many requests with cancellations (queued and running), every block is free', async () => {
    const { engine } = engineWith(6, 24);
    const s = new Scheduler(engine, { maxQueue: 64 });
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const system = [1, 50, 51, 52, 53];
    const all: Promise<FinishReason>[] = [];
    for (let i = 0; i < 40; i++) {
      const prompt = [...(rand(2) ? system : [1]), ...Array.from({ length: 1 + rand(10) }, () => 2 + rand(55))];
      const r = greedy(prompt, 1 + rand(12));
      const handle = s.submit(r.req);
      all.push(r.reason);
      const when = rand(4);
      if (when === 0)
        handle.cancel(); // still queued
      else if (when === 1) {
        const onToken = r.req.onToken;
        r.req.onToken = (ev) => {
          onToken(ev);
          if (r.ids.length === 2) handle.cancel(); // running
          return undefined;
        };
      }
      if (i % 8 === 7) await new Promise((res) => setTimeout(res, 5));
    }
    const reasons = await Promise.all(all);
    expect(reasons.filter((r) => r === 'cancelled').length).toBeGreaterThan(5);
    expect(reasons).not.toContain('error');
    await s.idle();
    expect([s.runningCount, s.queueDepth, engine.blocks.usedBlocks, engine.blocks.freeBlocks]).toEqual([0, 0, 0, 24]);
    engine.dispose();
  });
});
