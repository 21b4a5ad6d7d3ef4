import { describe, expect, it } from 'vitest';
import { broadcastShapes, broadcastsTo, isContiguous, sizeOf, stridesOf } from './shape.js';
import { makeRng } from './testing/reference.js';

/** Element offsets of a strided view in row-major index order (the brute-force definition of its layout). */
function offsets(shape: readonly number[], strides: readonly number[]): number[] {
  const out: number[] = [];
  const walk = (d: number, base: number): void => {
    if (d === shape.length) {
      out.push(base);
      return;
    }
    for (let i = 0; i < shape[d]!; i++) walk(d + 1, base + i * strides[d]!);
  };
  walk(0, 0);
  return out;
}

function randomShape(rng: () => number, maxRank = 4): number[] {
  return Array.from({ length: Math.floor(rng() * (maxRank + 1)) }, () => 1 + Math.floor(rng() * 3));
}

describe('shape helpers (shared by the ops and both backends)', () => {
  it('sizeOf and stridesOf give the row-major layout: offsets 0, 1, …, n − 1', () => {
    const rng = makeRng(21);
    for (let trial = 0; trial < 50; trial++) {
      const shape = randomShape(rng);
      const n = sizeOf(shape);
      expect(offsets(shape, stridesOf(shape))).toEqual([...Array(n).keys()]);
    }
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([3, 0, 2])).toBe(0);
  });

  it('isContiguous agrees with the brute-force layout on random permuted, sliced and broadcast views', () => {
    const rng = makeRng(22);
    let contiguous = 0;
    for (let trial = 0; trial < 300; trial++) {
      const shape = randomShape(rng);
      let strides = stridesOf(shape);
      const pick = rng();
      if (pick < 0.3 && shape.length >= 2) {
        // A transpose of the last two axes.
        const r = shape.length;
        [shape[r - 2], shape[r - 1]] = [shape[r - 1]!, shape[r - 2]!];
        [strides[r - 2], strides[r - 1]] = [strides[r - 1]!, strides[r - 2]!];
      } else if (pick < 0.5 && shape.length >= 1) {
        strides = strides.map((s, i) => (i === 0 ? s * 2 : s)); // every other row
      } else if (pick < 0.7 && shape.length >= 1) {
        strides = strides.map((s, i) => (i === shape.length - 1 ? 0 : s)); // a broadcast axis
      }
      const n = sizeOf(shape);
      const expected = offsets(shape, strides).every((o, i) => o === i) && n > 0;
      if (n > 0) expect(isContiguous({ shape, strides }), `${shape} / ${strides}`).toBe(expected);
      if (expected) contiguous++;
    }
    expect(contiguous).toBeGreaterThan(50);
    expect(contiguous).toBeLessThan(250);
  });

  it('broadcastsTo agrees with broadcastShapes: shape broadcasts to target iff broadcasting both gives target', () => {
    const rng = makeRng(23);
    let yes = 0;
    for (let trial = 0; trial < 300; trial++) {
      const target = randomShape(rng);
      const shape = randomShape(rng).map((d) => (rng() < 0.4 ? 1 : d));
      let expected: boolean;
      try {
        const b = broadcastShapes('test', shape, target);
        expected = b.length === target.length && b.every((d, i) => d === target[i]);
      } catch {
        expected = false;
      }
      expect(broadcastsTo(shape, target), `${shape} → ${target}`).toBe(expected);
      if (expected) yes++;
    }
    expect(yes).toBeGreaterThan(20);
    expect(broadcastsTo([3, 1], [2, 3, 4])).toBe(true);
    expect(broadcastsTo([1, 3], [3])).toBe(false);
  });
});
