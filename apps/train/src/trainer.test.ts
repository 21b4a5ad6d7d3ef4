import type { Batch } from '@andes/data';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { AdamW } from '@andes/optim';
import { setBackend } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, trainStep } from './trainer.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const config = llamaConfig({
  vocab_size: 29,
  hidden_size: 24,
  intermediate_size: 40,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
  tie_word_embeddings: true,
});

/** `rows` random sequences of `seqLen + 1` tokens cut into inputs and next-token targets. */
function rows(count: number, seqLen: number, seed: number): Int32Array[] {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % config.vocab_size;
  };
  return Array.from({ length: count }, () => Int32Array.from({ length: seqLen + 1 }, next));
}

function batchOf(sequences: Int32Array[], seqLen: number): Batch {
  const inputs = new Int32Array(sequences.length * seqLen);
  const targets = new Int32Array(sequences.length * seqLen);
  sequences.forEach((s, i) => {
    inputs.set(s.subarray(0, seqLen), i * seqLen);
    targets.set(s.subarray(1), i * seqLen);
  });
  return { inputs, targets, batchSize: sequences.length, seqLen };
}

async function parameters(model: LlamaForCausalLM): Promise<Float32Array[]> {
  return Promise.all(model.parameters().map(async (p) => (await p.data()) as Float32Array));
}

describe('trainStep', () => {
  it('with two accumulated micro-batches matches one step on the whole batch', async () => {
    const seqLen = 7;
    const whole = new LlamaForCausalLM(config, { seed: 3 });
    const split = new LlamaForCausalLM(config, { seed: 3 });
    // Clipping on and small, so the accumulated norm must be right for the updates to agree.
    const options = { lr: 1e-2, maxGradNorm: 0.5 };
    const optWhole = new AdamW(whole.namedParameters(), options);
    const optSplit = new AdamW(split.namedParameters(), options);
    for (let step = 0; step < 3; step++) {
      const seqs = rows(6, seqLen, 100 + step);
      const a = await trainStep(whole, optWhole, [batchOf(seqs, seqLen)], 1e-2);
      const b = await trainStep(
        split,
        optSplit,
        [batchOf(seqs.slice(0, 3), seqLen), batchOf(seqs.slice(3), seqLen)],
        1e-2,
      );
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5);
      expect(a.gradNorm).toBeGreaterThan(0.5); // clipping was active
    }
    const [pw, ps] = [await parameters(whole), await parameters(split)];
    pw.forEach((w, i) => {
      const s = ps[i]!;
      // The two runs sum each gradient in different float32 orders (one 42-row product against two 21-row ones
      // accumulated). Adam divides by √v, so where a gradient is near zero a rounding-level difference moves the
      // update by a small fraction of lr: 3e-5 is 0.1 % of the three steps' largest possible travel (3 · lr).
      for (let j = 0; j < w.length; j++) expect(Math.abs(s[j]! - w[j]!)).toBeLessThan(3e-5);
    });
  });

  it('lowers the loss on a repeated batch, and evaluate reports the model loss without training', async () => {
    const seqLen = 9;
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const optimizer = new AdamW(model.namedParameters(), { lr: 1e-2, maxGradNorm: 0 });
    const batch = batchOf(rows(4, seqLen, 7), seqLen);
    const before = await evaluate(model, [batch]);
    expect(before).toBeGreaterThan(Math.log(config.vocab_size) - 0.5);
    const first = await trainStep(model, optimizer, [batch], 1e-2);
    expect(first.loss).toBeCloseTo(before, 5); // the step's loss is the loss before its update
    expect(Number.isFinite(first.gradNorm)).toBe(true); // measured even with clipping off
    for (let i = 0; i < 15; i++) await trainStep(model, optimizer, [batch], 1e-2);
    const after = await evaluate(model, [batch]);
    expect(after).toBeLessThan(before - 0.5);
    expect(await evaluate(model, [batch])).toBe(after); // evaluation does not change the model
  });
});
