import { describe, expect, it } from 'vitest';
import { makeRng } from '../testing/reference.js';
import { PAIR_WITH_8 } from './wasm-block-bodies.js';
import { wasmBlockKernels } from './wasm-block-kernels.js';
import { ensureMemory } from './wasm-heap.js';
import { EVEN_ODD_16, QUANTIZED_BLOCK_BYTES } from './wasm-quantize-rows.js';

describe.skipIf(!wasmBlockKernels())('WebAssembly SIMD activation quantization (Q8_0 of a row)', () => {
  it.each(['int8', 'int16-even-odd', 'int8-with-sums', 'int8-paired-with-sums'] as const)(
    '%s: matches float64 per 32-block: dx = max|x|/127, |q − x/dx| ≤ 1/2, |q| ≤ 127, Σx to float32 rounding',
    (layout) => {
      const kernels = wasmBlockKernels()!;
      const rng = makeRng(41);
      const blocks = 37;
      const [src, q, pairs] = [4096, 4096 + 128 * blocks, 4096 + 192 * blocks];
      expect(ensureMemory(kernels.memory, pairs + 8 * blocks)).toBe(true);
      const x = Float32Array.from({ length: 32 * blocks }, (_, i) => {
        const b = i >> 5;
        if (b === 3) return 0; // an all-zero block: dx = 0, q = 0
        if (b === 5 && i % 32 === 7) return -1e30; // one huge element
        return (rng() * 2 - 1) * 10 ** Math.floor(rng() * 8 - 4) * (b === 9 ? 1e-36 : 1);
      });
      new Float32Array(kernels.memory.buffer, src, x.length).set(x);
      kernels.quantize(src, blocks, q, pairs, layout);
      // Element j of block b as the kernels read it: int8 in order, i16 at its EVEN_ODD_16 lane, or int8 at its
      // PAIR_WITH_8 position within its 16.
      const lane = EVEN_ODD_16.flat().reduce((at, j, i) => at.set(j, i), new Map<number, number>());
      const paired = new Map(PAIR_WITH_8.map((j, i) => [j, i]));
      const wide = layout === 'int16-even-odd';
      const stride = QUANTIZED_BLOCK_BYTES[layout];
      const wideQs = new Int16Array(kernels.memory.buffer, q, x.length);
      const bytes = new Int8Array(kernels.memory.buffer, q, stride * blocks);
      const byteOf = (j: number) => (layout === 'int8-paired-with-sums' ? (j & 16) + paired.get(j & 15)! : j);
      const qAt = (b: number, j: number) => (wide ? wideQs[32 * b + lane.get(j)!]! : bytes[stride * b + byteOf(j)]!);
      const ps = new Float32Array(kernels.memory.buffer, pairs, 2 * blocks);
      for (let b = 0; b < blocks; b++) {
        const block = Array.from(x.subarray(32 * b, 32 * b + 32));
        const amax = Math.max(...block.map(Math.abs));
        const dx = Math.fround(amax / 127);
        expect(ps[2 * b]).toBe(dx);
        let sum = 0;
        let mag = 0;
        for (let j = 0; j < 32; j++) {
          const got = qAt(b, j);
          expect(Math.abs(got)).toBeLessThanOrEqual(127);
          if (dx === 0) expect(got).toBe(0);
          else expect(Math.abs(got - block[j]! / dx)).toBeLessThanOrEqual(0.5 + 1e-5);
          sum += block[j]!;
          mag += Math.abs(block[j]!);
        }
        expect(Math.abs(ps[2 * b + 1]! - sum)).toBeLessThanOrEqual(32 * 2 ** -24 * mag + 1e-45);
        if (layout === 'int8-with-sums') {
          // After the 32 int8: i16 lane j = −8·(q[2j] + q[2j+1] + q[2j+16] + q[2j+17]), Q4_0's −8·Σx per lane.
          const sums = new Int16Array(kernels.memory.buffer, q + stride * b + 32, 8);
          const want = Array.from({ length: 8 }, (_, j) =>
            [2 * j, 2 * j + 1, 2 * j + 16, 2 * j + 17].reduce((s, e) => s - 8 * qAt(b, e), 0),
          );
          expect(Array.from(sums)).toEqual(want);
        }
        if (layout === 'int8-paired-with-sums') {
          // After the 32 paired int8: per 16, i16 lane i = −32·(q[i] + q[i + 8]), Q6_K's −32·Σx per pair.
          const sums = new Int16Array(kernels.memory.buffer, q + stride * b + 32, 16);
          const want = Array.from({ length: 16 }, (_, i) => {
            const first = 16 * (i >> 3) + (i & 7);
            return -32 * (qAt(b, first) + qAt(b, first + 8)) + 0; // + 0: the i16 lanes hold no −0
          });
          expect(Array.from(sums)).toEqual(want);
        }
      }
    },
  );
});
