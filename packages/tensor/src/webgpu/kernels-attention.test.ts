import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { createCpuBackend } from '../cpu/index.js';
import { attentionErrors } from './attention-checks.js';
import type { WebGpuBackend } from './backend.js';
import { setAttentionVariant } from './kernels/attention.js';
import { compatibilityWebGpu, tryWebGpu } from './test-support.js';
import { ATTENTION_VARIANTS, attentionFamily, attentionVariantFits } from './tuning/families.js';
import { switchboardOf } from './tuning/switchboard.js';

// Every attention variant (one row per invocation: direct / tiled; lane groups folded through workgroup memory or
// subgroup shuffles), forward and backward, against the CPU backend's float64-accumulated reference.
const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

const c = createCpuBackend();
let seed = 100;
async function check(g: Backend, B: number, Hq: number, Hkv: number, T: number, S: number, D: number, causal: boolean) {
  const shape = { B, Hq, Hkv, T, S, D, causal };
  for (const { label, error } of await attentionErrors(c, g, shape, seed)) expect(error, label).toBeLessThanOrEqual(1);
  seed += 4;
}

const compat = backend ? await compatibilityWebGpu() : undefined;
afterAll(() => compat?.destroy());

/**
 * Head dims per variant: each variant compiles once per dim (minutes cold on lavapipe), so each gets one dim; the
 * suite spans 8…128, and `direct` (eight rows per invocation) takes a width that is not a power of two. The tile of
 * `tiled` is 64 rows at both 8 and 16, so a second small dim tested nothing new.
 */
const HEAD_DIMS: Record<string, number[]> = {
  direct: [24],
  direct1: [16],
  tiled: [8],
  w4: [128],
  w8: [64],
  w16: [16],
  g4: [32],
  g8: [128],
  g16: [8],
};

/**
 * Self-attention, grouped-query heads, non-causal, KV-cache offsets (S > T), T not a multiple of any tile (the long
 * row shorter for wide heads, to keep the float64 reference cheap). The compatibility device (`full` false) runs the
 * shapes that stress its limits: the widest tiles, grouped heads, and S > T.
 */
async function shapes(g: Backend, D: number, full: boolean) {
  const long = D >= 64 ? 67 : 129;
  if (full) {
    await check(g, 1, 1, 1, 1, 1, D, true);
    await check(g, 2, 2, 2, 13, 13, D, true);
    await check(g, 2, 4, 2, 7, 7, D, false);
    await check(g, 1, 2, 1, 1, 33, D, true);
  }
  await check(g, 1, 2, 2, long, long, D, true);
  await check(g, 1, 6, 2, 33, 33, D, true);
  await check(g, 1, 2, 1, 5, 70, D, true);
}

const devices: [string, () => Backend, boolean][] = [
  ['default device', () => backend!, true],
  ['compatibility device', () => compat!, false],
];
for (const [device, get, full] of devices)
  for (const [id, variant] of Object.entries(ATTENTION_VARIANTS)) {
    const profile = backend ? switchboardOf((get() as WebGpuBackend).rt)!.profile : undefined;
    const runs = profile !== undefined && attentionVariantFits(profile, variant);
    if (backend && !runs) console.warn(`[attention variant ${id} skipped on the ${device}] no subgroups that hold it`);
    (runs ? describe : describe.skip)(`webgpu fused attention, variant ${id}, on the ${device}`, () => {
      afterAll(() => setAttentionVariant(undefined));
      for (const D of HEAD_DIMS[id] ?? [16])
        it(`forward and backward vs the CPU backend, head dim ${D}, awkward shapes`, async () => {
          setAttentionVariant(variant);
          await shapes(get(), D, full);
        }, 600_000);
    });
  }

suite('webgpu attention variant space', () => {
  const profile = switchboardOf((backend as WebGpuBackend).rt)!.profile;
  it('keeps the direct kernels the default on CPU adapters and times subgroup variants only where they fit', () => {
    expect(attentionFamily.fallback(profile, PROBLEM)).toBe(profile.cpu ? 'direct' : 'tiled');
    const ids = attentionFamily.candidates(profile, PROBLEM);
    expect(ids[0]).toBe(attentionFamily.fallback(profile, PROBLEM));
    for (const id of ids) expect(attentionVariantFits(profile, ATTENTION_VARIANTS[id]!), id).toBe(true);
    const noSubgroups = { ...profile, cpu: false, subgroups: false };
    expect(attentionFamily.candidates(noSubgroups, PROBLEM).some((id) => id.startsWith('g'))).toBe(false);
    const small = { ...profile, cpu: false, subgroups: true, subgroupMinSize: 4 };
    expect(attentionFamily.candidates(small, PROBLEM).filter((id) => id.startsWith('g'))).toEqual(['g4']);
  });
});

const PROBLEM = { B: 1, Hq: 4, Hkv: 2, T: 100, S: 100, D: 64, causal: true };
