import { describe, expect, it } from 'vitest';
import { copyInto } from './elementwise.js';
import { CpuStorage } from './storage.js';

const storage = (values: number[]) => new CpuStorage('float32', Float32Array.from(values));

describe('cpu copyInto', () => {
  it('copies the old values when a contiguous source overlaps the destination', () => {
    const s = storage([0, 1, 2, 3, 4, 5]);
    // dst = s[1:6] ← src = s[0:5]: a naive forward copy would smear 0 over everything.
    copyInto({ storage: s, shape: [5], strides: [1], offset: 1 }, { storage: s, shape: [5], strides: [1], offset: 0 });
    expect(Array.from(s.data)).toEqual([0, 0, 1, 2, 3, 4]);
    expect(s.version).toBe(1);
    // A strided destination, written element by element: s[2], s[4], s[6] ← s[1], s[2], s[3] (old values).
    const t = storage([0, 1, 2, 3, 4, 5, 6, 7]);
    copyInto({ storage: t, shape: [3], strides: [2], offset: 2 }, { storage: t, shape: [3], strides: [1], offset: 1 });
    expect(Array.from(t.data)).toEqual([0, 1, 1, 3, 2, 5, 3, 7]);
  });

  it('writes strided destinations from strided sources, and bumps the write version', () => {
    const dst = storage([0, 0, 0, 0, 0, 0]);
    const src = storage([1, 2, 3, 4, 5, 6]);
    // dst viewed as the transpose of a [2, 3] matrix ← the first column pair of src as [3, 2] with strides [1, 3].
    copyInto(
      { storage: dst, shape: [3, 2], strides: [1, 3], offset: 0 },
      { storage: src, shape: [3, 2], strides: [1, 3], offset: 0 },
    );
    expect(Array.from(dst.data)).toEqual([1, 2, 3, 4, 5, 6]);
    copyInto(
      { storage: dst, shape: [2], strides: [2], offset: 1 },
      { storage: src, shape: [2], strides: [1], offset: 4 },
    );
    expect(Array.from(dst.data)).toEqual([1, 5, 3, 6, 5, 6]);
    expect(dst.version).toBe(2);
    expect(src.version).toBe(0);
  });
});
