import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { topKByBlocks } from './top-k-blocks.js';
import { wasmSampling } from './wasm-sampling.js';

/** The definition, written out independently: sort (value desc, id asc), keep k. */
function topKRef(x: Float32Array, k: number): number[] {
  return Array.from(x, (v, i) => [v, i] as const)
    .sort((p, q) => q[0] - p[0] || p[1] - q[1])
    .slice(0, k)
    .map(([, i]) => i);
}

describe.runIf(wasmSampling() !== null)('topKByBlocks (block maxima, then the insertion over their blocks)', () => {
  it('equals the sorted definition on random, tied, clustered and −∞-holding rows', () => {
    const rng = makeRng(23);
    let used = 0;
    for (const n of [1001, 4099, 31999, 32000]) {
      for (const k of [1, 5, 40, Math.floor(n / 256)]) {
        for (const shape of ['random', 'ties', 'clustered', 'ninf'] as const) {
          const x = Float32Array.from({ length: n }, () => (rng() * 2 - 1) * 6);
          if (shape === 'ties') for (let i = 0; i < n; i++) x[i] = Math.round(x[i]! * 2) / 2; // many equal values
          if (shape === 'clustered') for (let i = 100; i < 100 + 3 * k; i++) x[i] = 20 + (i % 7); // the top k in one or two blocks
          if (shape === 'ninf') for (let i = 0; i < n; i += 3) x[i] = Number.NEGATIVE_INFINITY;
          const got = topKByBlocks(x, k);
          if (got === null) continue;
          used++;
          expect(Array.from(got), `n ${n} k ${k} ${shape}`).toEqual(topKRef(x, k));
        }
      }
    }
    expect(used).toBeGreaterThan(40);
  });

  it('declines rows with NaN, k < 1 and k too large for blocks to pay', () => {
    const x = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i));
    expect(topKByBlocks(x, 0)).toBeNull();
    expect(topKByBlocks(x, 1000)).toBeNull();
    x[777] = Number.NaN;
    expect(topKByBlocks(x, 5)).toBeNull();
  });
});
