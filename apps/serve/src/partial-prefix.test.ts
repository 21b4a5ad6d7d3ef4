/**
 * Prefix reuse below block granularity through every engine path: requests whose prompts share prefixes of assorted
 * lengths (so most admissions copy the start of a cached block) must get exactly the greedy tokens of their prompt
 * alone (`soloGreedy`, a contiguous-cache forward), on the main thread with and without cut-ins and in an engine
 * worker with and without them, under block pressure (preemptions), and leave every block free.
 */
import { LlamaForCausalLM, PagedKvCache } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedy, soloGreedy, weightsSource, workerTestConfig } from '../test/requests.js';
import type { Engine } from './engine.js';
import { LlamaEngine, type LlamaEngineOptions } from './llama-engine.js';
import { Scheduler } from './scheduler.js';
import { type EngineSource, WorkerEngine } from './worker-engine.js';

const config = workerTestConfig;
let model: LlamaForCausalLM;
let source: EngineSource;
const engines: Engine[] = [];

beforeAll(async () => {
  await setBackend('cpu');
  model = new LlamaForCausalLM(config, { seed: 17 });
  source = await weightsSource(model);
});

afterAll(() => {
  for (const e of engines) e.dispose();
});

/** 28 blocks of `blockSize`: five running sequences of up to ~40 positions outgrow them, so some are preempted. */
function sizing(blockSize: number): LlamaEngineOptions {
  return { maxSlots: 5, maxContext: 90, blockSize, kvBudgetBytes: 28 * PagedKvCache.bytesPerBlock(config, blockSize) };
}

/** Prompts: a random-length start (1–27 ids) of one of three random base prompts, then 1–6 ids of their own. */
function workload(seed: number): { prompt: number[]; max: number }[] {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const bases = Array.from({ length: 3 }, () => Array.from({ length: 27 }, () => 1 + rand(60)));
  return Array.from({ length: 14 }, () => {
    const base = bases[rand(3)]!.slice(0, 1 + rand(27));
    return { prompt: [...base, ...Array.from({ length: 1 + rand(6) }, () => 1 + rand(60))], max: 2 + rand(5) };
  });
}

/** Runs the workload (a wave of four, then one request per millisecond); ids per request, and the partial reuses. */
async function serve(engine: Engine, seed: number): Promise<{ ids: number[][]; partial: number }> {
  const blocks = engine.blocks;
  const open = blocks.open.bind(blocks);
  let partial = 0;
  blocks.open = (id, tokens, maxReuse) => {
    const reused = open(id, tokens, maxReuse);
    if (reused % blocks.blockSize !== 0) partial++;
    return reused;
  };
  try {
    const scheduler = new Scheduler(engine, { maxQueue: 64 });
    const runs = workload(seed).map(({ prompt, max }) => greedy(prompt, max));
    for (const [i, r] of runs.entries()) {
      scheduler.submit(r.req);
      if (i >= 3) await new Promise((done) => setTimeout(done, 1));
    }
    await Promise.all(runs.map((r) => r.reason));
    await scheduler.idle();
    expect(blocks.usedBlocks).toBe(0);
    return { ids: runs.map((r) => r.ids), partial };
  } finally {
    blocks.open = open;
  }
}

describe('partial-block prefix reuse', () => {
  it('gives every request its solo greedy tokens on the main thread and in an engine worker, with and without cut-ins', async () => {
    const paths: [string, Engine][] = [
      ['main thread, blocks of 5', new LlamaEngine(model, sizing(5))],
      ['main thread with cut-ins, blocks of 4', new LlamaEngine(model, { ...sizing(4), cutIns: true })],
      [
        'worker with cut-ins, blocks of 5',
        await WorkerEngine.create({ backend: 'cpu', source, engine: sizing(5) }, { cutIns: true }),
      ],
      ['worker, blocks of 7', await WorkerEngine.create({ backend: 'cpu', source, engine: sizing(7) })],
    ];
    engines.push(...paths.map(([, e]) => e));
    let cutIns = 0;
    for (const [, engine] of paths) {
      const cutIn = engine.cutIn?.bind(engine);
      if (cutIn) {
        engine.cutIn = (chunks) => {
          cutIns++;
          return cutIn(chunks);
        };
      }
    }
    for (const seed of [2, 9]) {
      const want = await Promise.all(workload(seed).map(({ prompt, max }) => soloGreedy(model, prompt, max)));
      for (const [name, engine] of paths) {
        const got = await serve(engine, seed);
        expect(got.ids, `${name}, seed ${seed}`).toEqual(want);
        expect(got.partial, `${name}, seed ${seed}: admissions that copied part of a block`).toBeGreaterThan(2);
      }
    }
    expect(cutIns).toBeGreaterThan(0);
  }, 60_000);
});
