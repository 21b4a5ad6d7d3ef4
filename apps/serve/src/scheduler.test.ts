import { DEFAULT_SAMPLING, generateIds, LlamaForCausalLM, llamaConfig, tokenLogprobs } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecodeRow } from './engine.js';
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

/** A real engine whose decode calls are recorded (which slots ran together). */
function recordingEngine(maxSlots: number, maxContext = 40) {
  const engine = new LlamaEngine(model, { maxSlots, maxContext });
  const log: string[] = [];
  const decode = engine.decode.bind(engine);
  const prefill = engine.prefill.bind(engine);
  engine.decode = (rows: readonly DecodeRow[]) => {
    log.push(`decode ${rows.map((r) => r.slot).join(',')}`);
    return decode(rows);
  };
  const decodeSampled = engine.decodeSampled.bind(engine);
  engine.decodeSampled = (rows, draws, topLogprobs) => {
    log.push(`decode ${rows.map((r) => r.slot).join(',')}`);
    return decodeSampled(rows, draws, topLogprobs);
  };
  engine.prefill = (slot, ids, opts) => {
    log.push(opts?.start ? `prefill ${slot}@${opts.start}` : `prefill ${slot}`);
    return prefill(slot, ids, opts);
  };
  const copyPrefix = engine.copyPrefix.bind(engine);
  engine.copyPrefix = (from, to, length) => {
    log.push(`copy ${from}->${to} ${length}`);
    copyPrefix(from, to, length);
  };
  const prefillMany = engine.prefillMany.bind(engine);
  engine.prefillMany = (requests) => {
    log.push(`prefillMany ${requests.map((r) => (r.start ? `${r.slot}@${r.start}` : r.slot)).join(',')}`);
    return prefillMany(requests);
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

describe('Scheduler over a real LlamaEngine', () => {
  it('admits a new sequence into the running batch at a token boundary; outputs equal each run alone', async () => {
    const { engine, log } = recordingEngine(2);
    const s = new Scheduler(engine, { maxQueue: 8 });
    const pa = [1, 5, 9, 14, 3];
    const pb = [1, 22, 7];
    const a = greedy(pa, 12);
    let b: ReturnType<typeof greedy> | null = null;
    const wrapped = a.onToken;
    a.onToken = (ev) => {
      wrapped(ev);
      if (a.run.ids.length === 3) {
        b = greedy(pb, 6);
        s.submit(b);
      }
      return undefined;
    };
    s.submit(a);
    expect(await a.run.reason).toBe('length');
    expect(await b!.run.reason).toBe('length');
    expect(a.run.ids).toEqual(await generateIds(model, pa, { maxNewTokens: 12, temperature: 0, stop: [] }));
    expect(b!.run.ids).toEqual(await generateIds(model, pb, { maxNewTokens: 6, temperature: 0, stop: [] }));
    // A ran alone, then B's prefill joined, then both decoded in one batch.
    const prefillB = log.indexOf('prefill 1');
    expect(log.slice(0, prefillB)).toEqual(['prefill 0', 'decode 0', 'decode 0']);
    expect(log[prefillB + 1]).toBe('decode 0,1');
    engine.dispose();
  });

  it('prefills a long prompt in chunks between decode steps of the running batch, with identical results', async () => {
    const { engine, log } = recordingEngine(2);
    const s = new Scheduler(engine, { maxQueue: 8, prefillChunk: 4 });
    const pa = [1, 5, 9];
    const pb = [1, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39];
    const a = greedy(pa, 10);
    let entries: { logprob: number; top: { id: number }[] }[] = [];
    const b = greedy(pb, 3, { promptLogprobs: true, topLogprobs: 2, onPromptLogprobs: (e) => (entries = e) });
    const wrapped = a.onToken;
    a.onToken = (ev) => {
      wrapped(ev);
      if (a.run.ids.length === 2) s.submit(b);
      return undefined;
    };
    s.submit(a);
    await Promise.all([a.run.reason, b.run.reason]);
    // B's 11 prompt tokens went in as 4 + 4 + 3, each chunk followed by a decode step of A.
    const i = log.indexOf('prefill 1');
    expect(log.slice(i, i + 6)).toEqual([
      'prefill 1',
      'decode 0',
      'prefill 1@4',
      'decode 0',
      'prefill 1@8',
      'decode 0,1',
    ]);
    expect(a.run.ids).toEqual(await generateIds(model, pa, { maxNewTokens: 10, temperature: 0, stop: [] }));
    expect(b.run.ids).toEqual(await generateIds(model, pb, { maxNewTokens: 3, temperature: 0, stop: [] }));
    // Prompt log-probabilities equal those of one unchunked prefill.
    const whole = new LlamaEngine(model, { maxSlots: 1, maxContext: 40 });
    const logits = await whole.prefill(0, pb, { allLogits: true });
    expect(entries).toHaveLength(pb.length - 1);
    entries.forEach((e, t) => {
      const ref = tokenLogprobs(logits.subarray(t * V, (t + 1) * V), pb[t + 1]!, 2);
      expect(e.logprob).toBeCloseTo(ref.logprob, 5);
      expect(e.top.map((x) => x.id)).toEqual(ref.top.map((x) => x.id));
    });
    whole.dispose();
    engine.dispose();
  });

  it('a cancelled sequence frees its slot at the next boundary and the waiting one takes it', async () => {
    const { engine, log } = recordingEngine(1);
    const s = new Scheduler(engine, { maxQueue: 8 });
    const a = greedy([1, 2, 3], 30);
    const b = greedy([1, 4], 4);
    const handleA = s.submit(a);
    s.submit(b);
    expect(s.queueDepth).toBe(1);
    const wrapped = a.onToken;
    a.onToken = (ev) => {
      wrapped(ev);
      if (a.run.ids.length === 2) handleA.cancel();
      return undefined;
    };
    expect(await a.run.reason).toBe('cancelled');
    expect(await b.run.reason).toBe('length');
    expect(a.run.ids.length).toBe(2);
    // After A's cancel, the very next engine call is B's prefill.
    expect(log.filter((l) => l.startsWith('prefill'))).toEqual(['prefill 0', 'prefill 0']);
    expect(log.indexOf('prefill 0', 1)).toBe(2);
    engine.dispose();
  });

  it('rejects when the queue is full, and stops at the context limit with reason length', async () => {
    const { engine } = recordingEngine(1, 10);
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
    expect(log).toEqual(['prefill 0']);
    engine.dispose();
  });

  it('prefills arrivals of one boundary in one forward; 16 concurrent streams equal their solo runs', async () => {
    const { engine, log } = recordingEngine(16);
    const s = new Scheduler(engine, { maxQueue: 32 });
    // Prompts of awkward, different lengths (1 to 9 tokens) and different output lengths.
    const runs = Array.from({ length: 16 }, (_, i) => {
      const prompt = [1, ...Array.from({ length: i % 9 }, (_, j) => 2 + ((i * 7 + j * 5) % 57))];
      return greedy(prompt, 3 + (i % 5));
    });
    for (const r of runs) s.submit(r);
    await Promise.all(runs.map((r) => r.run.reason));
    for (const r of runs) {
      const solo = await generateIds(model, r.prompt as number[], {
        maxNewTokens: r.maxTokens,
        temperature: 0,
        stop: [],
      });
      expect(r.run.ids).toEqual(solo);
    }
    // The first request started the loop alone; the other 15 arrived meanwhile and went in one prefill forward,
    // then all 16 decoded together.
    expect(log[0]).toBe('prefill 0');
    const batched = log.find((l) => l.startsWith('prefillMany'))!;
    expect(batched.split(' ')[1]!.split(',')).toHaveLength(15);
    expect(log.some((l) => l.startsWith('decode') && l.split(' ')[1]!.split(',').length === 16)).toBe(true);
    engine.dispose();
  });

  it('a batched prefill mixes a long prompt’s next chunk with new arrivals, within the token budget', async () => {
    const { engine, log } = recordingEngine(3);
    const s = new Scheduler(engine, { maxQueue: 8, prefillChunk: 6 });
    const long = greedy([1, 30, 31, 32, 33, 34, 35, 36, 37, 38], 2);
    const a = greedy([1, 5], 2);
    const b = greedy([1, 6, 7], 2);
    s.submit(long);
    s.submit(a);
    s.submit(b);
    await Promise.all([long, a, b].map((r) => r.run.reason));
    // Boundary 1: the long prompt alone (6 tokens, the whole budget); boundary 2: its last 4 tokens + A (2).
    expect(log[0]).toBe('prefill 0');
    expect(log).toContain('prefillMany 0@6,1');
    for (const r of [long, a, b]) {
      const solo = await generateIds(model, r.prompt as number[], { maxNewTokens: 2, temperature: 0, stop: [] });
      expect(r.run.ids).toEqual(solo);
    }
    engine.dispose();
  });

  it('a failing batched prefill ends every sequence in it with an error and frees their slots', async () => {
    const { engine } = recordingEngine(4);
    engine.prefillMany = async () => {
      throw new Error('device lost');
    };
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
    // The first ran alone (its single prefill works); the two that arrived meanwhile shared the failing call.
    expect(reasons).toEqual(['length', 'error', 'error']);
    expect(errors).toEqual(['device lost', 'device lost']);
    await s.idle();
    expect(s.runningCount).toBe(0);
    expect(s.kvPositionsInUse).toBe(0);
    engine.dispose();
  });

  it('prefix caching: a shared system prompt is reused in place from a freed slot, or copied from a running one', async () => {
    const { engine, log } = recordingEngine(2);
    const s = new Scheduler(engine, { maxQueue: 8, prefixCacheMinTokens: 4 });
    const system = [1, 40, 41, 42, 43, 44, 45];
    const solo = (prompt: number[], n: number) =>
      generateIds(model, prompt, { maxNewTokens: n, temperature: 0, stop: [] });
    // A finishes; B shares A's 7-token system prompt: it takes A's freed slot and prefills only its own 2 tokens.
    const a = greedy([...system, 9, 10], 3);
    s.submit(a);
    await a.run.reason;
    const b = greedy([...system, 11, 12], 3);
    s.submit(b);
    await b.run.reason;
    expect(log).toContain('prefill 0@7');
    expect(a.run.ids).toEqual(await solo([...system, 9, 10], 3));
    expect(b.run.ids).toEqual(await solo([...system, 11, 12], 3));
    // C runs long in slot 0; D arrives with the same system prompt: slot 1 gets a copy of C's prefix.
    const c = greedy([...system, 13], 12);
    let d: ReturnType<typeof greedy> | null = null;
    const wrapped = c.onToken;
    c.onToken = (ev) => {
      wrapped(ev);
      if (c.run.ids.length === 2) {
        d = greedy([...system, 20, 21, 22], 4);
        s.submit(d);
      }
      return undefined;
    };
    s.submit(c);
    await c.run.reason;
    await d!.run.reason;
    expect(log).toContain('copy 0->1 7');
    expect(log).toContain('prefill 1@7');
    expect(c.run.ids).toEqual(await solo([...system, 13], 12));
    expect(d!.run.ids).toEqual(await solo([...system, 20, 21, 22], 4));
    // A prompt that is wholly cached still prefills its last token (its logits start the output).
    const e = greedy([...system], 2);
    s.submit(e);
    await e.run.reason;
    expect(log.at(-2)).toMatch(/^prefill \d@6$/);
    expect(e.run.ids).toEqual(await solo([...system], 2));
    engine.dispose();
  });

  it('prefix caching stays off below the threshold and for prompt log-probabilities', async () => {
    const { engine, log } = recordingEngine(1);
    const s = new Scheduler(engine, { maxQueue: 8, prefixCacheMinTokens: 8 });
    const a = greedy([1, 2, 3, 4, 5, 6], 1);
    s.submit(a);
    await a.run.reason;
    const b = greedy([1, 2, 3, 4, 5, 7], 1); // 5 shared tokens < 8
    s.submit(b);
    await b.run.reason;
    const long = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const c = greedy(long, 1);
    s.submit(c);
    await c.run.reason;
    const d = greedy(long, 0, { promptLogprobs: true, topLogprobs: 0, onPromptLogprobs: () => {} });
    s.submit(d);
    await d.run.reason;
    expect(log.filter((l) => l.startsWith('prefill'))).toEqual(['prefill 0', 'prefill 0', 'prefill 0', 'prefill 0']);
    engine.dispose();
  });
});
