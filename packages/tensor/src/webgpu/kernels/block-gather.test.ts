import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, BlockType, View } from '../../backend/backend.js';
import { dequantize } from '../../formats/ggml-dequantize.js';
import { randomBlockBytes } from '../../quant/random-block-bytes.js';
import { compatibilityWebGpu, rng, transposed, tryWebGpu, upload } from '../test-support.js';

// blockGather (the WebGPU kernel behind blockEmbedding) against ggml's dequantization of the same bytes, for every
// format: 37 rows, K an odd number of blocks (odd K for the half floats, so rows end in a padded word), ids with
// repeats, the first and last row, a single id, a [5, 7] batch and a transposed (strided) view, on the default
// device and on a compatibility-level one.
const { backend, reason } = await tryWebGpu();
if (!backend) console.warn(`[webgpu tests skipped] ${reason}`);
const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => {
  backend?.destroy();
  compat?.destroy();
});

const ROWS = 37;
const K: Record<BlockType, number> = { F16: 45, BF16: 33, Q8_0: 96, Q4_0: 160, Q4_K: 768, Q6_K: 768 };
const TYPES = Object.keys(K) as BlockType[];

/** Id lists as [shape, ids]: repeats, both ends of the table, one id, a batch of 35 random ids. */
function idCases(seed: number): [number[], number[]][] {
  const r = rng(seed);
  return [
    [
      [2, 3],
      [36, 0, 5, 5, 17, 2],
    ],
    [[1], [ROWS - 1]],
    [[5, 7], Array.from({ length: 35 }, () => Math.floor(r() * ROWS))],
  ];
}

/**
 * Bit-equal to ggml's dequantization of the same bytes, which for all six formats is the exact (float64) value rounded
 * once to float32: every product before the last fits in float32's 24 bits (f16 scale × 6-bit scale × 4-bit q).
 */
function expectRows(got: Float32Array, ids: number[], w: Float32Array, type: BlockType, what: string): void {
  const k = K[type];
  expect(got.length, what).toBe(ids.length * k);
  let worst = 0;
  for (let t = 0; t < ids.length; t++) {
    const row = w.subarray(ids[t]! * k, (ids[t]! + 1) * k);
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(got[t * k + j]! - row[j]!));
  }
  expect(worst, what).toBe(0);
}

async function check(g: Backend, type: BlockType, seed: number): Promise<void> {
  const k = K[type];
  const bytes = randomBlockBytes(type, ROWS * k, rng(seed));
  const w = dequantize(type, bytes, ROWS * k);
  const weight = g.packBlockWeight!(type, ROWS, k, bytes);
  for (const [shape, ids] of idCases(seed)) {
    const v = upload(g, Int32Array.from(ids), [ids.length]);
    const out = g.blockGather(weight, v, type, ROWS, k);
    expectRows((await g.read(out)) as Float32Array, ids, w, type, `${type} ids [${shape}] K=${k}`);
    g.free(out);
    g.free(v.storage);
  }
  // A strided view: ids [3, 4] read through its transpose [4, 3] (the kernel's input must be made contiguous).
  const ids = Array.from({ length: 12 }, (_, i) => (7 * i + 3) % ROWS);
  const base = upload(g, Int32Array.from(ids), [3, 4]);
  const t: View = transposed(base, 0, 1);
  const order = [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => ids[i]!);
  const flat = g.blockGather(weight, t, type, ROWS, k);
  expectRows((await g.read(flat)) as Float32Array, order, w, type, `${type} transposed ids K=${k}`);
  g.free(flat);
  g.free(base.storage);
  g.free(weight);
}

(backend ? describe : describe.skip)('blockGather on WebGPU vs ggml dequantization', () => {
  it('default device: every format, awkward K, repeated / edge / strided ids', async () => {
    for (const [t, type] of TYPES.entries()) await check(backend!, type, 100 * t + 3);
  });
  it('compatibility-level device: the same', async () => {
    for (const [t, type] of TYPES.entries()) await check(compat!, type, 100 * t + 11);
  });
});
