import { expect, it } from 'vitest';
import * as T from '../index.js';
import { BlockWeight, type QuantizableBlockType } from '../quant/block-weight.js';
import { describeBackends } from '../testing/describe-backends.js';

function randomValues(n: number, seed: number): Float32Array {
  const rng = new T.SeededRandom(seed);
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

describeBackends('blockEmbedding', () => {
  // 37 rows (not a multiple of any tile); F16 rows of 33 (blocks of one element).
  for (const [type, dim] of [
    ['Q4_0', 64],
    ['Q8_0', 96],
    ['F16', 33],
  ] as [QuantizableBlockType, number][]) {
    it(`${type}: rows equal the matmul kernel's decoding of the same blocks, near the encoded values`, async () => {
      const vocab = 37;
      const values = randomValues(vocab * dim, 7);
      const table = BlockWeight.quantize(type, [vocab, dim], values);
      const idList = [36, 0, 5, 5, 17, 2];
      const ids = T.tensor(new Int32Array(idList), [2, 3], { dtype: 'int32' });
      const rows = T.blockEmbedding(table, ids);
      expect(rows.shape).toEqual([2, 3, dim]);
      const got = (await rows.data()) as Float32Array;
      // Independent path: I · Wᵀ through blockLinear's kernel gives Wᵀ [dim, vocab]; column id is row id of W.
      const eye = new Float32Array(dim * dim);
      for (let i = 0; i < dim; i++) eye[i * dim + i] = 1;
      // The float64 JS kernels: the SIMD ones round activations to int8 per block (llama.cpp's Q8_0 activations).
      const previous = T.setCpuMatmulKernels('js');
      const wt = (await T.blockLinear(T.tensor(eye, [dim, dim]), table).data()) as Float32Array;
      T.setCpuMatmulKernels(previous);
      let maxErr = 0;
      for (let r = 0; r < idList.length; r++) {
        const id = idList[r] as number;
        for (let j = 0; j < dim; j++) {
          // == rather than toBe: the kernel's sum gives +0 where a decoded (0 − 8·0) is −0.
          expect((got[r * dim + j] as number) === (wt[j * vocab + id] as number)).toBe(true);
          maxErr = Math.max(maxErr, Math.abs((got[r * dim + j] as number) - (values[id * dim + j] as number)));
        }
      }
      // Quantization error bounds for values in [-1, 1]: Q4_0 steps of max/8 (up to one step at the clamped end),
      // Q8_0 half a step of max/127, F16 ~1e-3.
      expect(maxErr).toBeLessThan(type === 'Q4_0' ? 0.13 : type === 'Q8_0' ? 0.005 : 5e-4);
      expect(maxErr).toBeGreaterThan(0);
      table.dispose();
    });
  }

  it('names the op, id and shapes for an id out of range', () => {
    const table = BlockWeight.quantize('Q8_0', [4, 32], randomValues(128, 3));
    const ids = T.tensor(new Int32Array([1, 4]), [2], { dtype: 'int32' });
    expect(() => T.blockEmbedding(table, ids)).toThrow(
      /blockEmbedding: id 4 at flat index 1 of \[2\] is out of range \[0, 4\)/,
    );
    table.dispose();
  });
});
