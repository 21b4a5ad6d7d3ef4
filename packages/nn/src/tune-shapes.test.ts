import { describe, expect, it } from 'vitest';
import { llamaPreset } from './presets.js';
import { llamaTuneShapes } from './tune-shapes.js';

describe('llamaTuneShapes', () => {
  it('lists every linear layer of stories-15m as x·Wᵀ with backward, the decode rows, the attention and the norms', () => {
    const c = llamaPreset('stories-15m');
    const shapes = llamaTuneShapes(c, { batchSize: 4, seqLen: 32 });
    const mm = shapes.filter((s) => s.kind === 'matmul');
    const training = mm.filter((s) => s.m === 128);
    expect(training.map((s) => [s.k, s.n])).toEqual([
      [288, 288],
      [288, 288],
      [288, 768],
      [768, 288],
      [288, 32000],
    ]);
    expect(training.every((s) => s.transposeB && s.backward)).toBe(true);
    expect(mm.filter((s) => s.m === 1)).toHaveLength(5);
    expect(shapes.find((s) => s.kind === 'attention')).toEqual({
      kind: 'attention',
      batch: 4,
      heads: 6,
      kvHeads: 6,
      seqLen: 32,
      headDim: 48,
      causal: true,
      backward: true,
    });
    expect(shapes.filter((s) => s.kind === 'linear-parts' && s.m === 128)).toEqual([
      { kind: 'linear-parts', m: 128, k: 288, n: [288, 288, 288], backward: true },
      { kind: 'linear-parts', m: 128, k: 288, n: [768, 768], backward: true },
      { kind: 'linear-parts', m: 128, k: 288, n: [288], residual: true, backward: true },
      { kind: 'linear-parts', m: 128, k: 768, n: [288], residual: true, backward: true },
    ]);
    expect(shapes.filter((s) => s.kind === 'linear-parts' && s.m === 1)).toHaveLength(4);
    expect(shapes.filter((s) => s.kind === 'rows')).toEqual([
      { kind: 'rows', op: 'rmsnorm', rows: 128, cols: 288 },
      { kind: 'rows', op: 'rmsnorm', rows: 1, cols: 288 },
    ]);
  });

  it('inference without decode drops backward products and one-row shapes; bad sizes are named', () => {
    const c = llamaPreset('stories-15m');
    const shapes = llamaTuneShapes(c, { batchSize: 1, seqLen: 7, training: false, decode: false });
    expect(shapes.some((s) => s.kind !== 'rows' && s.backward)).toBe(false);
    expect(shapes.filter((s) => s.kind === 'matmul' && s.m === 1)).toEqual([]);
    expect(() => llamaTuneShapes(c, { batchSize: 0, seqLen: 7 })).toThrow(/batchSize 0 and seqLen 7/);
  });
});
