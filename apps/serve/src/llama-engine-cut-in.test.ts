import { type LlamaDecoderLayer, LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { getBackend, memory } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { beforeAll, expect, it } from 'vitest';
import type { StepChunk, StepResult } from './engine.js';
import { LlamaEngine } from './llama-engine.js';

// Four layers of odd widths: boundaries after layers 0 (the first), 1, 2 and 3 (the last, before the output head).
const config = llamaConfig({
  vocab_size: 53,
  hidden_size: 20,
  intermediate_size: 36,
  num_hidden_layers: 4,
  num_attention_heads: 5,
  num_key_value_heads: 1,
  max_position_embeddings: 64,
});
const greedy = { temperature: 0, topK: 0, topP: 1, uniform: 0 };
const sizing = { maxSlots: 4, maxContext: 48, blockSize: 4 };

/** Random ids in 1…V-1 (never the same pattern twice). */
function ids(n: number, seed: number): number[] {
  let s = seed * 2654435761;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return 1 + (s % (config.vocab_size - 1));
  });
}

/**
 * Runs `body` once, as layer `at` starts encoding a forward of `rows` rows (the decode step's, not a cut-in's): inside
 * the step's synchronous stretch. Returns the undo.
 */
function whileLayerEncodes(model: LlamaForCausalLM, at: number, rows: number, body: () => void): () => void {
  const layer: LlamaDecoderLayer = model.model.layers.at(at);
  const own = layer.forwardPaged;
  layer.forwardPaged = function (this: LlamaDecoderLayer, ...args: Parameters<LlamaDecoderLayer['forwardPaged']>) {
    if (args[0].shape[1] === rows) {
      layer.forwardPaged = own;
      body();
    }
    return own.apply(this, args);
  };
  return () => {
    layer.forwardPaged = own;
  };
}

/** Logits and tokens of results. */
function values(results: readonly StepResult[]) {
  return results.map((r) => ({ logits: r.logits && Array.from(r.logits), token: r.token?.id }));
}

/**
 * Same tokens, and logits equal up to float rounding: a joining cut-in's rows go through the output projection
 * beside the step's, a product of more rows (on WebGPU possibly another kernel variant) than its own step's.
 */
function expectClose(mine: ReturnType<typeof values>, want: ReturnType<typeof values>, what: string): void {
  expect(
    mine.map((r) => r.token),
    what,
  ).toEqual(want.map((r) => r.token));
  mine.forEach((r, i) => {
    expect(r.logits === undefined, what).toBe(want[i]!.logits === undefined);
    if (!r.logits) return;
    const ref = want[i]!.logits!;
    const scale = Math.max(...ref.map(Math.abs));
    const diff = Math.max(...r.logits.map((v, j) => Math.abs(v - ref[j]!)));
    expect(diff / scale, `${what}, chunk ${i}`).toBeLessThan(1e-5);
  });
}

describeBackends('LlamaEngine cut-ins', () => {
  let model: LlamaForCausalLM;
  beforeAll(() => {
    model = new LlamaForCausalLM(config, { seed: 5 });
  });

  // Two running sequences (13 and 9 prompt ids), decoding; the cut-in brings a third and a fourth sequence's prompts.
  const running = [ids(13, 1), ids(9, 2)];
  const decode = (tokens: number[], pos: number[]): StepChunk[] => [
    { seq: 0, ids: [tokens[0]!], start: pos[0]!, sample: greedy },
    { seq: 1, ids: [tokens[1]!], start: pos[1]! },
  ];
  const late: StepChunk[] = [
    { seq: 2, ids: ids(11, 3), start: 0, sample: greedy, topLogprobs: 2 },
    { seq: 3, ids: ids(6, 4), start: 0 },
  ];

  /** A plain engine's results for: the prompts, one decode step, then the late prompts in a step of their own. */
  async function reference() {
    const plain = new LlamaEngine(model, sizing);
    const first = await plain.step(running.map((p, seq) => ({ seq, ids: p, start: 0, sample: greedy })));
    const tokens = first.map((r) => r.token!.id);
    const decoded = await plain.step(decode(tokens, [13, 9]));
    const cut = await plain.step(late);
    plain.dispose();
    return { tokens, decoded: values(decoded), cut: values(cut) };
  }

  it("a cut-in posted during any layer (first to last) joins the step's output projection; after it, runs whole; both compute what a step of its own does", async () => {
    const want = await reference();
    // Posted while layer 0…3 is recorded, the cut-in's rows join the step's output projection and draws; 4: posted
    // once the step has recorded its projection, it runs whole behind the step.
    for (const at of [0, 1, 2, 3, 4]) {
      const engine = new LlamaEngine(model, { ...sizing, cutIns: true });
      await engine.step(running.map((p, seq) => ({ seq, ids: p, start: 0, sample: greedy })));
      const before = memory().tensors;
      const order: string[] = [];
      let cut: Promise<StepResult[]> | undefined;
      const post = () => {
        cut = engine.cutIn!(late).then((r) => {
          order.push('cut');
          return r;
        });
        cut.catch(() => {}); // awaited below, after the step
      };
      const restore = at < 4 ? whileLayerEncodes(model, at, 2, post) : () => {};
      const decoded = await engine
        .step(decode(want.tokens, [13, 9]), { onForward: at === 4 ? post : undefined })
        .finally(restore);
      order.push('step');
      const cutResults = await cut!;
      expectClose(values(decoded), want.decoded, `posted at ${at}`);
      expectClose(values(cutResults), want.cut, `posted at ${at}`);
      expect(cutResults[0]!.token!.top).toHaveLength(2);
      // Joined, the cut-in's tokens come with the step's (settled just before it returns).
      if (at < 4) expect(order).toEqual(['cut', 'step']);
      expect([0, 1, 2, 3].map((s) => engine.blocks.length(s))).toEqual([14, 10, 11, 6]);
      expect(memory().tensors).toBe(before);
      engine.dispose();
    }
  });

  it("a cut-in joins a step whose chunks put no row through the output projection (a prompt's first chunk)", async () => {
    const want = await reference();
    const engine = new LlamaEngine(model, { ...sizing, cutIns: true });
    let cut: Promise<StepResult[]> | undefined;
    const restore = whileLayerEncodes(model, 1, 7, () => {
      cut = engine.cutIn!(late);
    });
    const first = { seq: 0, ids: running[0]!.slice(0, 7), start: 0, skipLogits: true };
    expect(await engine.step([first]).finally(restore)).toEqual([{}]);
    expectClose(values(await cut!), want.cut, 'cut-in beside a skipped chunk');
    expect([0, 2, 3].map((s) => engine.blocks.length(s))).toEqual([7, 11, 6]);
    engine.dispose();
  });

  it('a layer or the device wait failing mid-step commits none of the step and frees its tensors; a cut-in posted before still runs', async () => {
    const want = await reference();
    const engine = new LlamaEngine(model, { ...sizing, cutIns: true });
    await engine.step(running.map((p, seq) => ({ seq, ids: p, start: 0, sample: greedy })));
    const before = memory().tensors;
    let cut: Promise<StepResult[]> | undefined;
    const restoreCut = whileLayerEncodes(model, 1, 2, () => {
      cut = engine.cutIn!(late);
      cut.catch(() => {});
    });
    const restoreFail = whileLayerEncodes(model, 2, 2, () => {
      throw new Error('layer 2 failed');
    });
    await expect(engine.step(decode(want.tokens, [13, 9]))).rejects.toThrow(/layer 2 failed/);
    restoreCut();
    restoreFail();
    expectClose(values(await cut!), want.cut, 'cut-in of the failed step');
    expect([engine.blocks.length(0), engine.blocks.length(1)]).toEqual([13, 9]);
    expect(memory().tensors).toBe(before);
    // The step's one wait for the device fails (a lost device, say): the same, and the cut-in still runs alone.
    for (const s of [2, 3]) engine.release(s);
    const backend = getBackend();
    const ownSync = backend.sync;
    backend.sync = () => Promise.reject(new Error('device lost'));
    let cut2: Promise<StepResult[]> | undefined;
    const restoreCut2 = whileLayerEncodes(model, 0, 2, () => {
      cut2 = engine.cutIn!(late);
      cut2.catch(() => {});
    });
    await expect(engine.step(decode(want.tokens, [13, 9]))).rejects.toThrow(/device lost/);
    backend.sync = ownSync;
    restoreCut2();
    expectClose(values(await cut2!), want.cut, 'cut-in of the step whose wait failed');
    expect([engine.blocks.length(0), engine.blocks.length(1)]).toEqual([13, 9]);
    expect(memory().tensors).toBe(before);
    // The failed step's sequences step again from where they were.
    expectClose(values(await engine.step(decode(want.tokens, [13, 9]))), want.decoded, 'the step again');
    await expect(engine.cutIn!(late)).rejects.toThrow(/no step is running/);
    engine.dispose();
  });
});
