import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, View } from '../../backend/backend.js';
import { sizeOf } from '../../shape.js';
import type { WebGpuBackend } from '../backend.js';
import { setMatmulVariant } from '../kernels/matmul.js';
import {
  closeness,
  compatibilityWebGpu,
  gatherView,
  randomFloats,
  readNumbers,
  transposed,
  tryWebGpu,
  upload,
} from '../test-support.js';
import { DECODE_VARIANTS, MATMUL_VARIANTS, matmulFamily } from './families.js';
import { switchboardOf } from './switchboard.js';

// Every variant of the matmul families, forward and backward (dA = dC·Bᵀ, dB = Aᵀ·dC, read through transposed
// views exactly as the autograd rule does), against float64, on the default device and on a compatibility-level one.
const { backend, reason } = await tryWebGpu();
if (!backend) console.warn(`[webgpu tests skipped] ${reason}`);

const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => {
  backend?.destroy();
  compat?.destroy();
});

/** Float64 product of two host views [..., M, K] · [..., K, N] with equal batch shapes. */
function ref(ad: ArrayLike<number>, a: View, bd: ArrayLike<number>, b: View): number[] {
  const av = gatherView(ad, a);
  const bv = gatherView(bd, b);
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape.at(-1)!;
  const nb = sizeOf(a.shape.slice(0, -2));
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

/** A view of `shape` stored as given, or stored with its last two axes swapped and read transposed. */
function operand(g: Backend, data: Float32Array, shape: number[], swapped: boolean): View {
  if (!swapped) return upload(g, data, shape);
  const r = shape.length;
  const stored = [...shape.slice(0, -2), shape[r - 1]!, shape[r - 2]!];
  return transposed(upload(g, data, stored), r - 2, r - 1);
}

let seed = 1;
async function product(g: Backend, a: View, ad: Float32Array, b: View, bd: Float32Array, label: string) {
  const out = g.matmul(a, b, a.shape.slice(0, -2));
  const got = await readNumbers(g, out);
  g.free(out);
  expect(closeness(got, ref(ad, a, bd, b), 1e-4, 1e-4), label).toBeLessThanOrEqual(1);
}

/** Forward C = A·B, then the backward products for a random dC, all against float64. */
async function forwardBackward(g: Backend, batch: number[], M: number, K: number, N: number, ta: boolean, tb: boolean) {
  const ad = randomFloats(sizeOf(batch) * M * K, seed++);
  const bd = randomFloats(sizeOf(batch) * K * N, seed++);
  const gd = randomFloats(sizeOf(batch) * M * N, seed++);
  const a = operand(g, ad, [...batch, M, K], ta);
  const b = operand(g, bd, [...batch, K, N], tb);
  const dc = upload(g, gd, [...batch, M, N]);
  const r = batch.length;
  const label = `[${batch}] M${M} K${K} N${N} ta=${ta} tb=${tb}`;
  await product(g, a, ad, b, bd, `forward ${label}`);
  await product(g, dc, gd, transposed(b, r, r + 1), bd, `dA ${label}`);
  await product(g, transposed(a, r, r + 1), ad, dc, gd, `dB ${label}`);
  for (const v of [a, b, dc]) g.free(v.storage);
}

const devices: [string, () => Backend][] = [
  ['default device', () => backend!],
  ['compatibility device', () => compat!],
];

for (const [device, get] of devices)
  (backend ? describe : describe.skip)(`matmul family conformance on the ${device}`, () => {
    afterAll(() => setMatmulVariant(undefined));
    for (const [id, variant] of Object.entries(MATMUL_VARIANTS))
      it(`variant ${id}: awkward, vec4-aligned, batched and long-K shapes, forward and backward`, async () => {
        setMatmulVariant(variant);
        const g = get();
        await forwardBackward(g, [], 37, 45, 71, false, false);
        await forwardBackward(g, [], 36, 44, 68, true, true);
        await forwardBackward(g, [2], 13, 300, 9, false, true);
        await forwardBackward(g, [], 2, 520, 12, true, false);
        // Word counts divisible by 4 (the vec4 strips run; the others above take their scalar fallback), sizes off
        // every block multiple.
        await forwardBackward(g, [], 37, 44, 68, false, false);
        await forwardBackward(g, [2], 12, 20, 36, false, true);
        await forwardBackward(g, [], 20, 8, 4, true, false);
      });
    // One forward product per variant: the scalar strips (all layouts) are covered above, and these tall ones take
    // tens of seconds to compile on lavapipe.
    for (const [id, variant] of Object.entries(MATMUL_VARIANTS).filter(([, v]) => v.kind.startsWith('strip-subgroup')))
      it(`variant ${id} without subgroups of 8 lanes takes the scalar strip of its shape`, async () => {
        setMatmulVariant(variant);
        const g = get();
        const rt = (g as WebGpuBackend).rt;
        const lanes = rt.subgroupMinSize;
        rt.subgroupMinSize = 4;
        try {
          const [ad, bd] = [randomFloats(37 * 45, seed++), randomFloats(45 * 71, seed++)];
          const [a, b] = [upload(g, ad, [37, 45]), upload(g, bd, [45, 71])];
          await product(g, a, ad, b, bd, `${id} scalar fallback`);
          g.free(a.storage);
          g.free(b.storage);
        } finally {
          rt.subgroupMinSize = lanes;
        }
      });
    for (const [id, decode] of Object.entries(DECODE_VARIANTS))
      it(`decode variant ${id}: one row, both weight layouts`, async () => {
        setMatmulVariant(undefined, decode);
        const g = get();
        for (const tb of [false, true]) {
          for (const [K, N] of [
            [5, 7],
            [300, 33],
            [65, 130],
            [64, 36],
          ] as const) {
            const ad = randomFloats(K, seed++);
            const bd = randomFloats(K * N, seed++);
            const a = upload(g, ad, [1, K]);
            const b = operand(g, bd, [K, N], tb);
            await product(g, a, ad, b, bd, `decode K${K} N${N} tb=${tb}`);
            g.free(a.storage);
            g.free(b.storage);
          }
        }
      });
  });

(backend ? describe : describe.skip)('matmul family defaults', () => {
  it('CPU adapters with broadcast strips take b16 up to 16 rows (a serving step fills it), the fitted strip above', () => {
    const profile = switchboardOf((backend as WebGpuBackend).rt)!.profile;
    const p = (M: number) => ({ M, N: 32000, K: 288, batch: 1, la: 'k' as const, lb: 'k' as const });
    const broadcast = { ...profile, cpu: true, subgroups: true, subgroupMinSize: 8 };
    expect(matmulFamily.fallback(broadcast, p(2))).toBe('b16');
    expect(matmulFamily.fallback(broadcast, p(16))).toBe('b16');
    expect(matmulFamily.fallback(broadcast, p(17))).toBe('bf');
    expect(matmulFamily.candidates(broadcast, p(16))).toContain('b16');
    // A cached b24 / b32 winner is no longer a candidate: its class runs the fitted strip instead.
    expect(matmulFamily.candidates(broadcast, p(31))).toEqual(expect.arrayContaining(['bf', 'b16']));
    expect(matmulFamily.candidates(broadcast, p(31))).not.toContain('b24');
    expect(matmulFamily.fallback({ ...profile, cpu: true, subgroups: false }, p(16))).toBe('s18');
    expect(matmulFamily.fallback({ ...profile, cpu: false }, p(16))).toBe('t1');
  });
});
