import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, BlockType } from '../../backend/backend.js';
import { dequantize } from '../../formats/ggml-dequantize.js';
import { randomBlockBytes } from '../../quant/random-block-bytes.js';
import { compatibilityWebGpu, randomFloats, rng, tryWebGpu, upload } from '../test-support.js';
import { BLOCK_MATMUL_VARIANTS, blockMatmulFamily } from '../tuning/block-family.js';
import { setBlockMatmulVariant } from './block-matmul.js';

// Every variant of the block-matmul family, every format, against float64 on the weight as the byte-exact ggml
// dequantizer decodes it: N odd, K an odd number of blocks (odd K for the half floats), M = 1, 2, 7 and 65 (a prefill
// past the 64 rows of one tile), on the default device and (default variants) on a compatibility-level device.
const { backend, reason } = await tryWebGpu();
if (!backend) console.warn(`[webgpu tests skipped] ${reason}`);

const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => {
  setBlockMatmulVariant(undefined);
  backend?.destroy();
  compat?.destroy();
});

const SHAPES: Record<BlockType, { n: number; k: number }> = {
  F16: { n: 37, k: 45 },
  BF16: { n: 37, k: 45 },
  Q8_0: { n: 37, k: 96 },
  Q4_0: { n: 37, k: 160 },
  Q4_K: { n: 19, k: 768 },
  Q6_K: { n: 19, k: 768 },
};
const ROWS = [1, 2, 7, 65];

/** Checks x [m, k] · Wᵀ for every m in ROWS against float64 (bound: 1e-5 · Σ|x·w| + 1e-6 per output). */
async function check(g: Backend, type: BlockType, seed: number): Promise<void> {
  const { n, k } = SHAPES[type];
  const bytes = randomBlockBytes(type, n * k, rng(seed));
  const w = dequantize(type, bytes, n * k);
  const weight = g.packBlockWeight!(type, n, k, bytes);
  expect(await g.unpackBlockWeight!(weight, type, n, k), `${type} bytes round trip`).toEqual(bytes);
  for (const m of ROWS) {
    const xs = randomFloats(m * k, seed + m);
    const x = upload(g, xs, [m, k]);
    const out = g.blockMatmul(x, weight, type, n, k);
    const got = await g.read(out);
    g.free(out);
    g.free(x.storage);
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let r = 0; r < n; r++) {
        let s = 0;
        let mag = 0;
        for (let j = 0; j < k; j++) {
          s += xs[i * k + j]! * w[r * k + j]!;
          mag += Math.abs(xs[i * k + j]! * w[r * k + j]!);
        }
        worst = Math.max(worst, Math.abs(got[i * n + r]! - s) / (1e-5 * mag + 1e-6));
      }
    }
    expect(worst, `${type} M=${m} N=${n} K=${k}`).toBeLessThanOrEqual(1);
  }
  g.free(weight);
}

const TYPES = Object.keys(SHAPES) as BlockType[];

(backend ? describe : describe.skip)('block-matmul family on the default device', () => {
  for (const [id, variant] of Object.entries(BLOCK_MATMUL_VARIANTS)) {
    it(`variant ${id}: every format, awkward N and K, M = ${ROWS.join(', ')}`, async () => {
      setBlockMatmulVariant(variant);
      for (const [t, type] of TYPES.entries()) await check(backend!, type, 100 * t + 1);
    });
  }
});

(backend ? describe : describe.skip)('block-matmul on a compatibility-level device', () => {
  it('per-adapter defaults: every format, awkward N and K, M = 1, 2, 7, 65', async () => {
    setBlockMatmulVariant(undefined);
    for (const [t, type] of TYPES.entries()) await check(compat!, type, 100 * t + 7);
  });
});

describe('block-matmul family choices', () => {
  const adapter = (cpu: boolean, subgroups: boolean) => ({
    vendor: 'v',
    architecture: 'a',
    device: 'd',
    description: 'x',
    cpu,
    subgroups,
    timestampQuery: false,
  });
  it('the fixed default of every adapter kind is a registered variant and the first candidate', () => {
    for (const cpu of [true, false])
      for (const subgroups of [true, false])
        for (const M of [1, 2, 65]) {
          const a = adapter(cpu, subgroups);
          const p = { type: 'Q4_0' as const, M, N: 37, K: 96 };
          const id = blockMatmulFamily.fallback(a, p);
          expect(BLOCK_MATMUL_VARIANTS[id], `cpu=${cpu} sg=${subgroups} M=${M}`).toBeDefined();
          expect(blockMatmulFamily.candidates(a, p)[0]).toBe(id);
          expect(blockMatmulFamily.candidates(a, p).includes('g1')).toBe(!cpu && subgroups && M === 1);
          expect(blockMatmulFamily.candidates(a, p).includes('g8')).toBe(!cpu && subgroups && M > 1);
        }
  });
});
