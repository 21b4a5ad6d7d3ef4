import { DEFAULT_SAMPLING, LlamaForCausalLM, llamaConfig, tokenLogprobs } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { soloGreedy } from '../test/requests.js';
import { LlamaEngine } from './llama-engine.js';
import { type FinishReason, QueueFullError, Scheduler, type SequenceRequest } from './scheduler.js';

let model: LlamaForCausalLM;
const V = 61;

beforeAll(async () => {
  await setBackend('cpu');
  const config = llamaConfig({
    vocab_size: V,
    hidden_size: 24,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    num_key_value_heads: 1,
    max_position_embeddings: 40,
    eos_token_id: 60,
    bos_token_id: 1,
  });
  model = new LlamaForCausalLM(config, { seed: 11 });
});

/**
 * A real engine whose steps are recorded: one entry per forward, its chunks as `seq` (prefill from 0), `seq@start`,
 * with `×n` for chunks of more than one token, e.g. `0@5 1×3`.
 */
function recordingEngine(
  maxSlots: number,
  options: { maxContext?: number; blockSize?: number; kvBudgetBytes?: number } = {},
) {
  const engine = new LlamaEngine(model, { maxSlots, maxContext: options.maxContext ?? 40, ...options });
  const log: string[] = [];
  const step = engine.step.bind(engine);
  engine.step = (chunks) => {
    log.push(
      chunks
        .map((c) => `${c.seq}${c.start ? `@${c.start}` : ''}${c.ids.length > 1 ? `×${c.ids.length}` : ''}`)
        .join(' '),
    );
    return step(chunks);
  };
  return { engine, log };
}

interface Run {
  ids: number[];
  reason: Promise<FinishReason>;
}

function greedy(
  prompt: number[],
  maxTokens: number,
  extra: Partial<SequenceRequest> = {},
): Omit<SequenceRequest, 'onToken' | 'onFinish'> & {
  run: Run;
  onToken: SequenceRequest['onToken'];
  onFinish: SequenceRequest['onFinish'];
} {
  const ids: number[] = [];
  let done!: (r: FinishReason) => void;
  const reason = new Promise<FinishReason>((r) => (done = r));
  return {
    prompt,
    maxTokens,
    sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
    eosIds: [-1],
    topLogprobs: -1,
    run: { ids, reason },
    onToken: (ev) => {
      ids.push(ev.id);
      return undefined;
    },
    onFinish: (r) => done(r),
    ...extra,
  };
}

const solo = (prompt: readonly number[], n: number) => soloGreedy(model, prompt, n);

/** Runs `fn` once `run` has received `n` tokens. */
function after(run: ReturnType<typeof greedy>, n: number, fn: () => void): void {
  const wrapped = run.onToken;
  run.onToken = (ev) => {
    wrapped(ev);
    if (run.run.ids.length === n) fn();
    return undefined;
  };
}

describe('Scheduler over a real LlamaEngine (paged KV cache)', () => {
  it('an arrival’s prefill joins the running decodes in one forward; outputs equal each run alone', async () => {
    const { engine, log } = recordingEngine(2);
    const s = new Scheduler(engine, { maxQueue: 8, prefillFirst: false });
    const pa = [1, 5, 9, 14, 3];
    const pb = [1, 22, 7];
    const a = greedy(pa, 12);
    let b: ReturnType<typeof greedy> | null = null;
    after(a, 3, () => s.submit((b = greedy(pb, 6))));
    s.submit(a);
    expect(await a.run.reason).toBe('length');
    expect(await b!.run.reason).toBe('length');
    expect(a.run.ids).toEqual(await solo(pa, 12));
    expect(b!.run.ids).toEqual(await solo(pb, 6));
    // A ran alone, then one forward held A's decode and B's whole prompt, then both decoded together.
    const mixed = log.indexOf('0@7 1×3');
    expect(log.slice(0, mixed)).toEqual(['0×5', '0@5', '0@6']);
    expect(log[mixed + 1]).toBe('0@8 1@3');
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('prefills a long prompt in chunks under the token budget, each beside the running decode, with identical results', async () => {
    const { engine, log } = recordingEngine(2);
    const s = new Scheduler(engine, { maxQueue: 8, prefillChunk: 4, prefillFirst: false });
    const pa = [1, 5, 9];
    const pb = [1, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39];
    const a = greedy(pa, 10);
    let entries: { logprob: number; top: { id: number }[] }[] = [];
    const b = greedy(pb, 3, { promptLogprobs: true, topLogprobs: 2, onPromptLogprobs: (e) => (entries = e) });
    after(a, 2, () => s.submit(b));
    s.submit(a);
    await Promise.all([a.run.reason, b.run.reason]);
    // B's 11 prompt tokens went in as 4 + 4 + 3, each chunk in the same forward as a decode step of A.
    const i = log.findIndex((l) => l.includes(' 1×4'));
    expect(log.slice(i, i + 4)).toEqual(['0@4 1×4', '0@5 1@4×4', '0@6 1@8×3', '0@7 1@11']);
    expect(a.run.ids).toEqual(await solo(pa, 10));
    expect(b.run.ids).toEqual(await solo(pb, 3));
    // Prompt log-probabilities equal those of one unchunked prefill.
    const whole = new LlamaEngine(model, { maxSlots: 1, maxContext: 40 });
    const [{ logits }] = (await whole.step([{ seq: 0, ids: pb, start: 0, allLogits: true }])) as [
      { logits: Float32Array },
    ];
    expect(entries).toHaveLength(pb.length - 1);
    entries.forEach((e, t) => {
      const ref = tokenLogprobs(logits!.subarray(t * V, (t + 1) * V), pb[t + 1]!, 2);
      expect(e.logprob).toBeCloseTo(ref.logprob, 5);
      expect(e.top.map((x) => x.id)).toEqual(ref.top.map((x) => x.id));
    });
    whole.dispose();
    engine.dispose();
  });

  it('a cancelled sequence frees its blocks at the next step and the waiting one starts', async () => {
    const { engine, log } = recordingEngine(1);
    const s = new Scheduler(engine, { maxQueue: 8 });
    const a = greedy([1, 2, 3], 30);
    const b = greedy([1, 4], 4);
    const handleA = s.submit(a);
    s.submit(b);
    // Both wait for the next turn of the event loop; then A holds the only slot and B waits.
    expect(s.queueDepth).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(s.queueDepth).toBe(1);
    after(a, 2, () => handleA.cancel());
    expect(await a.run.reason).toBe('cancelled');
    expect(await b.run.reason).toBe('length');
    expect(a.run.ids.length).toBe(2);
    // After A's cancel, the very next forward is B's prefill.
    expect(log.slice(0, 3)).toEqual(['0×3', '0@3', '1×2']);
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('rejects when the queue is full, and stops at the context limit with reason length', async () => {
    const { engine } = recordingEngine(1, { maxContext: 10 });
    const s = new Scheduler(engine, { maxQueue: 1 });
    const a = greedy([1, 2, 3, 4, 5, 6, 7, 8, 9], 5); // one position left: exactly one token
    s.submit(a);
    s.submit(greedy([1, 2], 1));
    expect(() => s.submit(greedy([1, 2], 1))).toThrow(QueueFullError);
    expect(await a.run.reason).toBe('length');
    expect(a.run.ids).toHaveLength(1);
    await s.idle();
    expect(s.runningCount).toBe(0);
    engine.dispose();
  });

  it('maxTokens 0 with prompt log-probabilities runs only the prefill', async () => {
    const { engine, log } = recordingEngine(1);
    const s = new Scheduler(engine, { maxQueue: 1 });
    let entries: { logprob: number }[] = [];
    const a = greedy([1, 8, 9, 10], 0, {
      promptLogprobs: true,
      topLogprobs: 1,
      onPromptLogprobs: (e) => (entries = e),
    });
    s.submit(a);
    expect(await a.run.reason).toBe('length');
    expect(a.run.ids).toEqual([]);
    expect(entries).toHaveLength(3);
    expect(log).toEqual(['0×4']);
    engine.dispose();
  });

  it('16 concurrent streams equal their solo runs; arrivals of one boundary share one forward', async () => {
    const { engine, log } = recordingEngine(16);
    const s = new Scheduler(engine, { maxQueue: 32 });
    // Prompts of awkward, different lengths (1 to 9 tokens) and different output lengths.
    const runs = Array.from({ length: 16 }, (_, i) => {
      const prompt = [1, ...Array.from({ length: i % 9 }, (_, j) => 2 + ((i * 7 + j * 5) % 57))];
      return greedy(prompt, 3 + (i % 5));
    });
    for (const r of runs) s.submit(r);
    await Promise.all(runs.map((r) => r.run.reason));
    for (const r of runs) expect(r.run.ids).toEqual(await solo(r.prompt, r.maxTokens));
    // All 16 arrived in one turn of the event loop: the first forward prefilled every prompt (the loop does not
    // start a step for the first arrival alone), then all 16 decoded together.
    expect(log[0]!.split(' ').map((c) => Number.parseInt(c, 10))).toEqual(runs.map((_, i) => i));
    expect(log[1]!.split(' ')).toHaveLength(16);
    expect(engine.blocks.usedBlocks).toBe(0);
    engine.dispose();
  });

  it('a failing forward ends every sequence in it with an error and frees their blocks', async () => {
    const { engine } = recordingEngine(4);
    const step = engine.step.bind(engine);
    let calls = 0;
    engine.step = (chunks) => (++calls === 2 ? Promise.reject(new Error('device lost')) : step(chunks));
    const s = new Scheduler(engine, { maxQueue: 8 });
    const errors: string[] = [];
    const runs = [1, 2, 3].map((i) => greedy([1, i + 2], 2, {}));
    for (const r of runs) {
      const onFinish = r.onFinish;
      r.onFinish = (reason, err) => {
        if (err) errors.push(err.message);
        onFinish(reason, err);
      };
      s.submit(r);
    }
    const reasons = await Promise.all(runs.map((r) => r.run.reason));
    expect(reasons).toEqual(['error', 'error', 'error']);
    expect(errors).toEqual(['device lost', 'device lost', 'device lost']);
    await s.idle();
    expect([s.runningCount, s.kvPositionsInUse, engine.blocks.usedBlocks]).toEqual([0, 0, 0]);
    engine.dispose();
  });
});
