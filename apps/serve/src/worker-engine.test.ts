import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_SAMPLING, LlamaForCausalLM } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedy, sampled, weightsSource, workerTestConfig } from '../test/requests.js';
import type { Engine } from './engine.js';
import { LlamaEngine } from './llama-engine.js';
import { type FinishReason, Scheduler, type SequenceHandle } from './scheduler.js';
import { ShardedEngine } from './sharded-engine.js';
import { type EngineSource, WorkerEngine } from './worker-engine.js';

// The reference is the same model on the main thread (LlamaEngine): a worker, or two sharing the sequences, must
// give every request exactly its tokens, through prefix sharing, chunked prefill, preemption and releases.
const config = workerTestConfig;
// 26 blocks of 4 positions (512 bytes each): five running sequences outgrow them, so the scheduler preempts.
const sizing = { maxSlots: 5, maxContext: 90, blockSize: 4, kvBudgetBytes: 26 * 512 };
let model: LlamaForCausalLM;
let source: EngineSource;
const engines: Engine[] = [];

beforeAll(async () => {
  await setBackend('cpu');
  model = new LlamaForCausalLM(config, { seed: 7 });
  source = await weightsSource(model);
});

afterAll(() => {
  for (const e of engines) e.dispose();
});

async function workers(n: number, cutIns = false): Promise<Engine> {
  const shards = await Promise.all(
    Array.from({ length: n }, () => WorkerEngine.create({ backend: 'cpu', source, engine: sizing }, { cutIns })),
  );
  engines.push(...shards);
  return n === 1 ? shards[0]! : new ShardedEngine(shards);
}

/** Random prompts (odd lengths, a shared 9-token prefix on some) and a mix of greedy and seeded sampling. */
function workload(seed: number) {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const prefix = Array.from({ length: 9 }, () => 1 + rand(60));
  return Array.from({ length: 9 }, (_, i) => {
    const own = Array.from({ length: 1 + rand(13) }, () => 1 + rand(60));
    const prompt = i % 3 === 0 ? own : [...prefix, ...own];
    const max = 3 + rand(11);
    return i % 2 === 0
      ? greedy(prompt, max)
      : sampled(prompt, max, { ...DEFAULT_SAMPLING, temperature: 0.9, topK: 20, seed: 100 + i });
  });
}

type Request = ReturnType<typeof workload>[number] & { handle?: SequenceHandle; finish?: FinishReason };

/**
 * The workload's requests ending in every way a delivered token can end one, while (with a worker) the next step,
 * which holds the sequence, is already running: EOS, the handler saying stop (a stop string), the handler failing (a
 * client gone), a cancel from the handler; the rest run to their length.
 */
function endings(seed: number): Request[] {
  return workload(seed).map((r: Request, i) => {
    const kind = i % 5;
    const onToken = r.req.onToken;
    let seen = 0;
    // A quarter of the vocabulary ends kind 0: most such requests meet one within their few tokens.
    r.req.eosIds = kind === 0 ? Array.from({ length: 15 }, (_, j) => 1 + ((seed + i + 4 * j) % 60)) : [-1];
    r.req.onToken = (ev) => {
      onToken(ev);
      seen++;
      if (kind === 1 && seen === 2) return true;
      if (kind === 2 && seen === 3) throw new Error('client went away');
      if (kind === 3 && seen === 2) r.handle!.cancel();
      return undefined;
    };
    const onFinish = r.req.onFinish;
    r.req.onFinish = (reason, error) => {
      r.finish = reason;
      onFinish(reason, error);
    };
    return r;
  });
}

/**
 * Runs the workload through a scheduler over `engine`, the requests arriving in two waves: the ids per request, and
 * how many times a sequence was released before it finished (preempted).
 */
async function serve(
  engine: Engine,
  seed: number,
  requests: (seed: number) => Request[] = workload,
  arrivals: 'waves' | 'apart' = 'waves',
): Promise<{ ids: number[][]; preempted: number; reasons: (FinishReason | undefined)[] }> {
  const scheduler = new Scheduler(engine, { maxQueue: 64, prefillChunk: 6, targetStepMs: 0 });
  const reqs = requests(seed);
  // The scheduler numbers sequences from 0 in submission order.
  const finished = new Set<number>();
  reqs.forEach((r, i) => {
    r.reason.then(() => finished.add(i));
  });
  let preempted = 0;
  const release = engine.release.bind(engine);
  engine.release = (seq) => {
    if (!finished.has(seq)) preempted++;
    release(seq);
  };
  try {
    if (arrivals === 'waves') {
      for (const r of reqs.slice(0, 5)) r.handle = scheduler.submit(r.req);
      await new Promise((r) => setTimeout(r, 5));
      for (const r of reqs.slice(5)) r.handle = scheduler.submit(r.req);
    } else {
      // One at a time while the others run: most arrive during a step.
      for (const r of reqs) {
        r.handle = scheduler.submit(r.req);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await Promise.all(reqs.map((r) => r.reason));
    await scheduler.idle();
  } finally {
    engine.release = release;
  }
  expect(engine.blocks.usedBlocks).toBe(0);
  return { ids: reqs.map((r) => r.ids), preempted, reasons: reqs.map((r) => r.finish) };
}

describe('WorkerEngine and ShardedEngine', () => {
  it('give every request the tokens of the main-thread engine (one worker, and two sharing the sequences)', async () => {
    const local = new LlamaEngine(model, sizing);
    engines.push(local);
    const [one, two] = await Promise.all([workers(1), workers(2)]);
    for (const seed of [3, 11]) {
      const expected = await serve(local, seed);
      expect(expected.ids.every((ids) => ids.length >= 3)).toBe(true);
      expect(expected.preempted).toBeGreaterThan(0);
      expect((await serve(one, seed)).ids).toEqual(expected.ids);
      expect((await serve(two, seed)).ids).toEqual(expected.ids);
    }
    // Both shards were used: a second sequence opens on the other shard.
    const sharded = two as ShardedEngine;
    sharded.blocks.open(1000);
    sharded.blocks.open(1001);
    expect(sharded.blocks.usedBlocks).toBe(0);
    await sharded.step([
      { seq: 1000, ids: [1, 2, 3], start: 0 },
      { seq: 1001, ids: [4, 5], start: 0 },
    ]);
    expect(sharded.shards.map((s) => s.blocks.usedBlocks)).toEqual([1, 1]);
    sharded.release(1000);
    sharded.release(1001);
  }, 60_000);

  it('give the main-thread tokens when handlers end sequences that the next step already holds', async () => {
    const local = new LlamaEngine(model, sizing);
    engines.push(local);
    const [one, two] = await Promise.all([workers(1), workers(2)]);
    expect([(local as Engine).stepsOffThread, one.stepsOffThread, two.stepsOffThread]).toEqual([undefined, true, true]);
    const reasons = new Set<string>();
    for (const seed of [5, 8]) {
      const expected = await serve(local, seed, endings);
      // EOS (kind 0) told apart from the handler's stop.
      for (const [i, r] of expected.reasons.entries()) reasons.add(i % 5 === 0 && r === 'stop' ? 'eos' : String(r));
      for (const engine of [one, two]) {
        const got = await serve(engine, seed, endings);
        expect(got.ids).toEqual(expected.ids);
        expect(got.reasons).toEqual(expected.reasons);
      }
      // The worker's pool stayed in step with this thread's: a plain workload after the endings still matches.
      expect((await serve(one, seed + 1)).ids).toEqual((await serve(local, seed + 1)).ids);
    }
    expect([...reasons].sort()).toEqual(['cancelled', 'eos', 'error', 'length', 'stop']);
  }, 60_000);

  it('run prompts arriving during a step between its layers (cut-ins), each request keeping its tokens', async () => {
    const local = new LlamaEngine(model, sizing);
    engines.push(local);
    const engine = await workers(1, true);
    const cutIn = engine.cutIn!;
    // Each cut-in's reply against the running step: back before the step (between its layers) or after it.
    let stepRunning = false;
    const during: boolean[] = [];
    const step = engine.step.bind(engine);
    engine.step = async (chunks) => {
      stepRunning = true;
      try {
        return await step(chunks);
      } finally {
        stepRunning = false;
      }
    };
    engine.cutIn = async (chunks) => {
      const out = await cutIn(chunks);
      during.push(stepRunning);
      return out;
    };
    for (const seed of [3, 11, 5]) {
      for (const make of [workload, endings]) {
        const expected = await serve(local, seed, make, 'apart');
        const got = await serve(engine, seed, make, 'apart');
        expect(got.ids).toEqual(expected.ids);
        expect(got.reasons).toEqual(expected.reasons);
      }
    }
    expect(during.filter((d) => d).length, `cut-ins back before their step: ${during}`).toBeGreaterThan(0);
    await expect(engine.cutIn([{ seq: 9, ids: [1], start: 0 }])).rejects.toThrow(/no step is running/);
  }, 60_000);

  it('runs the cut-ins waiting at one boundary as one forward, each with its own results', async () => {
    // Reference: the same prompts, each prefilled alone on this thread.
    const local = new LlamaEngine(model, sizing);
    engines.push(local);
    const engine = (await workers(1, true)) as WorkerEngine;
    let s = 29;
    const ids = (n: number) =>
      Array.from({ length: n }, () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return 1 + (s % 60);
      });
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      // A long prefill is the running step; three prompts of odd lengths cut into it together.
      const step = { seq: 10 * round, ids: ids(69), start: 0 };
      const prompts = [5, 1, 11].map((n, i) => ({ seq: 10 * round + 1 + i, ids: ids(n), start: 0 }));
      const running = engine.step([step]);
      const cut = prompts.map((c) => engine.cutIn!([c]));
      const [stepResults, ...cutResults] = await Promise.all([running, ...cut]);
      const [expectedStep] = await local.step([step]);
      expect(maxAbsDiff(stepResults![0]!.logits!, expectedStep!.logits!)).toBeLessThan(1e-4);
      for (const [i, c] of prompts.entries()) {
        const [expected] = await local.step([c]);
        expect(cutResults[i]).toHaveLength(1);
        expect(maxAbsDiff(cutResults[i]![0]!.logits!, expected!.logits!), `round ${round}, prompt ${i}`).toBeLessThan(
          1e-4,
        );
      }
      for (const c of [step, ...prompts]) {
        engine.release(c.seq);
        local.release(c.seq);
      }
    }
    // Every cut-in answered, in fewer forwards than cut-ins (those posted together shared one).
    const counts = (engine as WorkerEngine).cutInCounts;
    expect(counts.cutIns).toBe(3 * rounds);
    expect(counts.forwards).toBeLessThan(counts.cutIns);
    // The pools stayed equal: the next admissions reuse the same blocks on both sides.
    const [a] = await engine.step([{ seq: 99, ids: [1, 2, 3], start: 0 }]);
    const [b] = await local.step([{ seq: 99, ids: [1, 2, 3], start: 0 }]);
    expect(maxAbsDiff(a!.logits!, b!.logits!)).toBeLessThan(1e-4);
    engine.release(99);
    local.release(99);
  }, 60_000);

  // Linux keeps a nice value per thread: field 19 of /proc/self/task/<tid>/stat.
  const niceOf = (stat: string) => {
    const text = readFileSync(stat, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[16]);
  };
  const threadNices = () => {
    const out = new Map<string, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        out.set(tid, niceOf(`/proc/self/task/${tid}/stat`));
      } catch {
        // a thread that ended meanwhile
      }
    }
    return out;
  };

  it.runIf(process.platform === 'linux')(
    'with computeNice, lower its own thread alone by that many nice levels, and give the same tokens',
    async () => {
      const mine = niceOf('/proc/thread-self/stat');
      const before = threadNices();
      const engine = await WorkerEngine.create({ backend: 'cpu', source, engine: sizing, computeNice: 3 });
      engines.push(engine);
      const after = threadNices();
      const born = [...after].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
      expect(born.filter((nice) => nice === Math.min(19, mine + 3))).toHaveLength(1);
      for (const [tid, nice] of before) if (after.has(tid)) expect(after.get(tid), `thread ${tid}`).toBe(nice);
      expect(niceOf('/proc/thread-self/stat')).toBe(mine);
      const local = new LlamaEngine(model, sizing);
      engines.push(local);
      expect((await serve(engine, 4)).ids).toEqual((await serve(local, 4)).ids);
    },
    30_000,
  );

  it('reports a step that does not fit, naming the sequence, and keeps working', async () => {
    const engine = await workers(1);
    await expect(engine.step([{ seq: 4, ids: Array.from({ length: 91 }, () => 1), start: 0 }])).rejects.toThrow(
      /sequence 4 would reach 91 positions, context is 90/,
    );
    engine.release(4);
    const [r] = await engine.step([{ seq: 5, ids: [1, 2], start: 0 }]);
    expect(r?.logits?.length).toBe(config.vocab_size);
    engine.release(5);
  }, 30_000);
});

/** The largest |a[i] - b[i]| (lengths must match). */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
