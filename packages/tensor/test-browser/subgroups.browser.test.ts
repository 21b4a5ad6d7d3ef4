// Every subgroup kernel variant in headless Chromium, each forced in turn (whatever the tuner would offer): the row
// kernels g128 / g128x16 / g128x32 (RMSNorm forward and dx, residual-add, softmax, cross-entropy, reductions) against
// float64, the attention lane groups g4 / g8 / g16 forward and backward against the CPU backend, the subgroup GEMV
// (decode g2) and the block GEMVs g1 / g8 against float64. Chromium's default adapter here is SwiftShader (core level,
// subgroups of exactly 4); its compatibility adapter (lavapipe through ANGLE's GL) has no subgroups, so there the
// test checks that no subgroup variant is offered. Variants whose lanes the smallest subgroup cannot hold are skipped
// with a line saying so.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, BlockType } from '../src/backend/backend.js';
import { createCpuBackend } from '../src/cpu/index.js';
import { dequantize } from '../src/formats/ggml-dequantize.js';
import { randomBlockBytes } from '../src/quant/random-block-bytes.js';
import { attentionErrors } from '../src/webgpu/attention-checks.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { setAttentionVariant } from '../src/webgpu/kernels/attention.js';
import { setBlockMatmulVariant } from '../src/webgpu/kernels/block-matmul.js';
import { setMatmulVariant } from '../src/webgpu/kernels/matmul.js';
import { setRowVariant } from '../src/webgpu/kernels/row-variants.js';
import { rowKernelErrors } from '../src/webgpu/row-kernel-checks.js';
import { compatibilityWebGpu, randomFloats, rng, transposed, tryWebGpu, upload } from '../src/webgpu/test-support.js';
import type { AdapterProfile } from '../src/webgpu/tuning/adapter.js';
import { BLOCK_MATMUL_VARIANTS, blockMatmulFamily } from '../src/webgpu/tuning/block-family.js';
import {
  ATTENTION_VARIANTS,
  attentionFamily,
  attentionVariantFits,
  decodeFamily,
  ROW_VARIANTS,
  rowsFamily,
  rowVariantFits,
} from '../src/webgpu/tuning/families.js';
import { switchboardOf } from '../src/webgpu/tuning/switchboard.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => {
  setRowVariant(undefined);
  setAttentionVariant(undefined);
  setMatmulVariant(undefined);
  setBlockMatmulVariant(undefined);
  backend?.destroy();
  compat?.destroy();
});

const cpu = createCpuBackend();

/** The device's adapter profile, with `subgroups` read from the device's features alone (no platform policy). */
function deviceProfile(g: Backend): AdapterProfile {
  const rt = (g as WebGpuBackend).rt;
  return { ...switchboardOf(rt)!.profile, subgroups: rt.features.has('subgroups') };
}

/** Largest error of `got` = x [m, k] · Wᵀ (W [n, k]) against float64 (bound 1e-5 · Σ|x·w| + 1e-6 per output). */
function productWorst(got: ArrayLike<number>, xs: Float32Array, w: ArrayLike<number>, m: number, n: number, k: number) {
  let worst = 0;
  for (let i = 0; i < m; i++)
    for (let r = 0; r < n; r++) {
      let s = 0;
      let mag = 0;
      for (let j = 0; j < k; j++) {
        s += xs[i * k + j]! * w[r * k + j]!;
        mag += Math.abs(xs[i * k + j]! * w[r * k + j]!);
      }
      const e = Math.abs(got[i * n + r]! - s) / (1e-5 * mag + 1e-6);
      worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(worst, e);
    }
  return worst;
}

/** Why a subgroup variant is skipped on a device. */
const why = (subgroups: boolean) =>
  subgroups ? 'its smallest subgroup cannot hold the lanes' : 'no subgroups feature';

const subgroupRows = Object.entries(ROW_VARIANTS).filter(([, v]) => v.subgroups);
const subgroupLanes = Object.entries(ATTENTION_VARIANTS).filter(([, v]) => v.kind === 'lanes' && v.subgroups);
const ROW_SHAPES: [number, number][] = [
  [37, 5],
  [17, 300],
  [2, 1100],
];
const ATTENTION_SHAPES = [
  { B: 1, Hq: 2, Hkv: 2, T: 37, S: 37, D: 16, causal: true },
  { B: 2, Hq: 4, Hkv: 2, T: 7, S: 7, D: 16, causal: false },
  { B: 1, Hq: 2, Hkv: 1, T: 5, S: 70, D: 16, causal: true },
];
const BLOCK_SHAPES: Partial<Record<BlockType, { n: number; k: number }>> = {
  F16: { n: 37, k: 45 },
  Q4_0: { n: 37, k: 160 },
  Q6_K: { n: 19, k: 256 },
};

const devices: [string, () => Backend | undefined][] = [
  ['default device', () => backend],
  ['compatibility device', () => compat],
];
for (const [device, get] of devices) {
  const g = get();
  const profile = g ? deviceProfile(g) : undefined;
  const subgroups = profile?.subgroups === true;
  if (g) console.info(`[${device}] ${JSON.stringify(profile)}`);

  (g && !subgroups ? describe : describe.skip)(`no subgroups on the ${device}`, () => {
    it('offers no subgroup variant to the tuner or the defaults', () => {
      const p = profile!;
      const rows = { op: 'rmsnorm' as const, rows: 64, cols: 288 };
      expect(rowsFamily.candidates(p, rows).filter((id) => ROW_VARIANTS[id]!.subgroups)).toEqual([]);
      const attn = { B: 1, Hq: 4, Hkv: 2, T: 100, S: 100, D: 64, causal: true };
      for (const a of [p, { ...p, cpu: false }])
        expect(attentionFamily.candidates(a, attn).filter((id) => id.startsWith('g'))).toEqual([]);
      const dec = { M: 1, N: 300, K: 288, batch: 1, la: 'k' as const, lb: 'k' as const };
      expect(decodeFamily.candidates({ ...p, cpu: false }, dec)).not.toContain('g2');
      for (const M of [1, 9])
        expect(blockMatmulFamily.candidates({ ...p, cpu: false }, { type: 'Q4_0', M, N: 64, K: 256 })).not.toContain(
          M === 1 ? 'g1' : 'g8',
        );
    });
  });

  for (const [id, variant] of subgroupRows) {
    const runs = subgroups && rowVariantFits(profile!, variant);
    if (g && !runs) console.warn(`[row variant ${id} skipped on the ${device}] ${why(subgroups)}`);
    (runs ? describe : describe.skip)(`row variant ${id} on the ${device}`, () => {
      it('RMSNorm (forward, dx, residual-add), softmax, cross-entropy and reductions match float64', async () => {
        setRowVariant(variant);
        try {
          let seed = 700;
          for (const [rows, D] of ROW_SHAPES)
            for (const { label, error } of await rowKernelErrors(g!, rows, D, (seed += 4)))
              expect(error, label).toBeLessThanOrEqual(1);
        } finally {
          setRowVariant(undefined);
        }
      });
    });
  }

  for (const [id, variant] of subgroupLanes) {
    const runs = subgroups && attentionVariantFits(profile!, variant);
    if (g && !runs) console.warn(`[attention variant ${id} skipped on the ${device}] ${why(subgroups)}`);
    (runs ? describe : describe.skip)(`attention variant ${id} on the ${device}`, () => {
      it('forward and backward match the CPU backend (grouped heads, S > T, odd lengths)', async () => {
        setAttentionVariant(variant);
        try {
          let seed = 800;
          for (const shape of ATTENTION_SHAPES)
            for (const { label, error } of await attentionErrors(cpu, g!, shape, (seed += 4)))
              expect(error, label).toBeLessThanOrEqual(1);
        } finally {
          setAttentionVariant(undefined);
        }
      });
    });
  }

  (subgroups ? describe : describe.skip)(`subgroup GEMVs on the ${device}`, () => {
    it('decode g2 (x · Wᵀ, W K-contiguous) matches float64', async () => {
      setMatmulVariant(undefined, { kind: 'gemv-subgroup' });
      try {
        for (const [n, k, seed] of [
          [37, 300, 1],
          [5, 7, 2],
          [70, 1100, 3],
        ] as const) {
          const xs = randomFloats(k, seed);
          const ws = randomFloats(n * k, seed + 10);
          const x = upload(g!, xs, [1, k]);
          const w = upload(g!, ws, [n, k]);
          const out = g!.matmul(x, transposed(w, 0, 1), []);
          expect(productWorst(await g!.read(out), xs, ws, 1, n, k), `g2 N=${n} K=${k}`).toBeLessThanOrEqual(1);
          for (const s of [out, x.storage, w.storage]) g!.free(s);
        }
      } finally {
        setMatmulVariant(undefined);
      }
    });

    for (const id of ['g1', 'g8'])
      it(`block-matmul ${id} matches float64 on the dequantized weight (F16, Q4_0, Q6_K; odd N)`, async () => {
        setBlockMatmulVariant(BLOCK_MATMUL_VARIANTS[id]);
        try {
          for (const [type, { n, k }] of Object.entries(BLOCK_SHAPES) as [BlockType, { n: number; k: number }][]) {
            const bytes = randomBlockBytes(type, n * k, rng(n + k));
            const w = dequantize(type, bytes, n * k);
            const weight = g!.packBlockWeight!(type, n, k, bytes);
            for (const m of id === 'g1' ? [1, 2] : [1, 7, 9]) {
              const xs = randomFloats(m * k, m + k);
              const x = upload(g!, xs, [m, k]);
              const out = g!.blockMatmul(x, weight, type, n, k);
              expect(productWorst(await g!.read(out), xs, w, m, n, k), `${id} ${type} M=${m}`).toBeLessThanOrEqual(1);
              g!.free(out);
              g!.free(x.storage);
            }
            g!.free(weight);
          }
        } finally {
          setBlockMatmulVariant(undefined);
        }
      });
  });
}

(backend ? describe : describe.skip)('the adapter profile in the browser', () => {
  it("reports the adapter's smallest subgroup size and the device's subgroups feature", async () => {
    const rt = (backend as WebGpuBackend).rt;
    const profile = switchboardOf(rt)!.profile;
    expect(profile.subgroups).toBe(rt.features.has('subgroups'));
    const adapter = await navigator.gpu.requestAdapter();
    const info = adapter?.info as { subgroupMinSize?: number } | undefined;
    if (info?.subgroupMinSize !== undefined) expect(profile.subgroupMinSize).toBe(info.subgroupMinSize);
  });
});
