import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { LINE_GROUPS, productChunkStart, runChunksSource } from './cpu-thread-worker.js';

// How a split product's column groups are cut into chunks: every group in exactly one chunk, in order, chunk edges on
// whole cache lines of output (so that two threads never write one line), sizes shrinking toward the end.
describe('cpu helper threads: chunks of a product', () => {
  const cases: [number, number][] = [
    [1, 1],
    [5, 3],
    [144, 9],
    [432, 53],
    [768, 40],
    [4000, 24],
    [16000, 95],
  ];
  const rng = makeRng(20261205);
  for (let i = 0; i < 40; i++) cases.push([1 + Math.floor(rng() * 20000), 1 + Math.floor(rng() * 120)]);

  it('covers every group once, in order, with edges on multiples of LINE_GROUPS', () => {
    for (const [G, n] of cases) {
      const starts = Array.from({ length: n + 1 }, (_, j) => productChunkStart(j, n, G));
      expect(starts[0], `G ${G}, n ${n}`).toBe(0);
      expect(starts[n], `G ${G}, n ${n}`).toBe(G);
      for (let j = 0; j < n; j++) {
        expect(starts[j + 1]!, `G ${G}, n ${n}, chunk ${j}`).toBeGreaterThanOrEqual(starts[j]!);
        if (starts[j + 1]! < G) expect(starts[j + 1]! % LINE_GROUPS, `G ${G}, n ${n}, chunk ${j}`).toBe(0);
      }
    }
  });

  it('stays within a line of the unrounded shrinking cut, so the last chunks stay the smallest', () => {
    for (const [G, n] of cases) {
      for (let j = 0; j <= n; j++) {
        const exact = G - Math.floor((G * (n - j) ** 2) / n ** 2);
        const start = productChunkStart(j, n, G);
        expect(start - exact, `G ${G}, n ${n}, chunk ${j}`).toBeGreaterThanOrEqual(0);
        expect(start - exact, `G ${G}, n ${n}, chunk ${j}`).toBeLessThan(LINE_GROUPS);
      }
    }
  });

  it('compiles into the chunk loop as standalone text', () => {
    const loop = new Function('c', 'kernels', `${runChunksSource('c', 'kernels')}\nreturn productChunkStart;`);
    const compiled = loop(new Int32Array(64), []) as typeof productChunkStart;
    for (const [G, n] of cases.slice(0, 10)) {
      for (let j = 0; j <= n; j++) expect(compiled(j, n, G)).toBe(productChunkStart(j, n, G));
    }
  });
});
