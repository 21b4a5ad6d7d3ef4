import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { sizeOf } from '../shape.js';
import {
  CPU_VARIANT,
  type DecodeVariant,
  GPU_VARIANT,
  type MatmulVariant,
  setMatmulVariant,
} from './kernels/matmul.js';
import { closeness, gatherView, randomFloats, readNumbers, transposed, tryWebGpu, upload } from './test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

/** Float64 batched matmul of host views (batch dims already broadcast to batchShape). */
function refMatmul(ad: Float32Array, a: View, bd: Float32Array, b: View, batch: readonly number[]): number[] {
  const av = gatherView(ad, a);
  const bv = gatherView(bd, b);
  const M = a.shape.at(-2)!;
  const K = a.shape.at(-1)!;
  const N = b.shape.at(-1)!;
  const nb = sizeOf(batch);
  const out: number[] = [];
  for (let z = 0; z < nb; z++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += av[z * M * K + m * K + k]! * bv[z * K * N + k * N + n]!;
        out.push(s);
      }
  return out;
}

const VARIANTS: [string, MatmulVariant, DecodeVariant][] = [
  ['tiled + gemv', GPU_VARIANT, { kind: 'gemv' }],
  ['strip + strip decode', CPU_VARIANT, { kind: 'strip', strip: { wg: 32, rm: 1, rn: 2 } }],
  ['strip (unrolled, columns first)', { kind: 'strip', strip: { wg: 32, rm: 4, rn: 2, ku: 4 } }, { kind: 'gemv' }],
  ['strip + K-contiguous decode strip', CPU_VARIANT, { kind: 'strip', strip: { wg: 16, rm: 1, rn: 8 } }],
];

for (const [variantName, variant, decode] of VARIANTS)
  suite(`webgpu matmul family: ${variantName}`, () => {
    beforeAll(() => setMatmulVariant(variant, decode));
    afterAll(() => setMatmulVariant(undefined));
    const g = backend!;
    let seed = 10;
    async function check(
      M: number,
      K: number,
      N: number,
      opts: { ta?: boolean; tb?: boolean; batch?: number[]; bcastB?: boolean } = {},
    ) {
      const batch = opts.batch ?? [];
      const nb = sizeOf(batch);
      const ad = randomFloats(nb * M * K, seed++);
      const bd = randomFloats((opts.bcastB ? 1 : nb) * K * N, seed++);
      let a: View = opts.ta
        ? transposed(upload(g, ad, [...batch, K, M]), batch.length, batch.length + 1)
        : upload(g, ad, [...batch, M, K]);
      let b: View = opts.tb
        ? transposed(
            upload(g, bd, [...(opts.bcastB ? [] : batch), N, K]),
            -2 + (opts.bcastB ? 2 : batch.length + 2),
            opts.bcastB ? 1 : batch.length + 1,
          )
        : upload(g, bd, [...(opts.bcastB ? [] : batch), K, N]);
      if (opts.bcastB) b = { ...b, shape: [...batch, K, N], strides: [...batch.map(() => 0), ...b.strides] };
      a = { ...a };
      const out = g.matmul(a, b, batch);
      const got = await readNumbers(g, out);
      const ref = refMatmul(ad, a, bd, b, batch);
      expect(closeness(got, ref, 1e-4, 1e-4), `M${M} K${K} N${N} ${JSON.stringify(opts)}`).toBeLessThanOrEqual(1);
      g.free(out);
      g.free(a.storage);
      g.free(b.storage);
    }

    it('square and awkward sizes with the tiled kernel', async () => {
      for (const [M, K, N] of [
        [1, 1, 1],
        [7, 13, 33],
        [64, 64, 64],
        [129, 7, 65],
        [33, 129, 13],
        [2, 300, 3],
      ] as const)
        await check(M, K, N);
    });

    it('transposed operands read through strides (all four layouts)', async () => {
      for (const ta of [false, true]) for (const tb of [false, true]) await check(37, 45, 71, { ta, tb });
    });

    it('batched with a broadcast right operand', async () => {
      await check(13, 17, 9, { batch: [2, 3] });
      await check(5, 33, 7, { batch: [3], bcastB: true, tb: true });
    });

    it('GEMV decode path for M = 1 in both B layouts', async () => {
      await check(1, 129, 300);
      await check(1, 1000, 77, { tb: true });
      await check(1, 7, 3, { batch: [4], tb: true });
    });

    it('one-row decode on awkward shapes, weight contiguous and read through a transposed [out, in] view', async () => {
      for (const tb of [false, true]) {
        for (const N of [1, 7, 33]) for (const K of [1, 5, 288, 770]) await check(1, K, N, { tb });
        for (const K of [5, 288]) await check(1, K, 32000, { tb });
      }
    });

    it('K = 0 gives zeros', async () => {
      const a = upload(g, new Float32Array(0), [3, 0]);
      const b = upload(g, new Float32Array(0), [0, 2]);
      expect(await readNumbers(g, g.matmul(a, b, []))).toEqual([0, 0, 0, 0, 0, 0]);
    });
  });

suite('webgpu matmul: per-adapter default kernels for one-row decode', () => {
  const g = backend!;
  it('matches float64 for x · Wᵀ with W [out, in] at LM-head and projection shapes', async () => {
    let seed = 900;
    for (const [K, N] of [
      [288, 32000],
      [770, 33],
      [5, 7],
    ] as const) {
      const ad = randomFloats(K, seed++);
      const bd = randomFloats(N * K, seed++);
      const a = upload(g, ad, [1, K]);
      const b = transposed(upload(g, bd, [N, K]), 0, 1);
      const out = g.matmul(a, b, []);
      const ref = refMatmul(ad, a, bd, b, []);
      expect(closeness(await readNumbers(g, out), ref, 1e-4, 1e-4), `K${K} N${N}`).toBeLessThanOrEqual(1);
      g.free(out);
      g.free(a.storage);
      g.free(b.storage);
    }
  });
});
