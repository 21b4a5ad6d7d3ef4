import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, View } from '../backend/backend.js';
import { createCpuBackend } from '../cpu/index.js';
import type { WebGpuBackend } from './backend.js';
import { setAttentionVariant } from './kernels/attention.js';
import { compareStorages, compatibilityWebGpu, randomFloats, tryWebGpu, twin } from './test-support.js';
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
  const label = `B${B} Hq${Hq} Hkv${Hkv} T${T} S${S} D${D} causal=${causal}`;
  const [qc, qg] = twin(c, g, randomFloats(B * Hq * T * D, seed++, -2, 2), [B, Hq, T, D]);
  const [kc, kg] = twin(c, g, randomFloats(B * Hkv * S * D, seed++, -2, 2), [B, Hkv, S, D]);
  const [vc, vg] = twin(c, g, randomFloats(B * Hkv * S * D, seed++), [B, Hkv, S, D]);
  const scale = 1 / Math.sqrt(D);
  const fc = c.attention(qc, kc, vc, scale, causal);
  const fg = g.attention(qg, kg, vg, scale, causal);
  expect(await compareStorages(c, g, fc.o, fg.o, 1e-5, 1e-4), `o ${label}`).toBeLessThanOrEqual(1);
  expect(await compareStorages(c, g, fc.lse, fg.lse, 1e-5, 1e-4), `lse ${label}`).toBeLessThanOrEqual(1);
  const [dc, dg] = twin(c, g, randomFloats(B * Hq * T * D, seed++), [B, Hq, T, D]);
  const view = (s: View['storage'], shape: number[]): View => ({
    storage: s,
    shape,
    strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
    offset: 0,
  });
  const oShape = [B, Hq, T, D];
  const bc = c.attentionBackward(qc, kc, vc, view(fc.o, oShape), dc, view(fc.lse, [B, Hq, T]), scale, causal);
  const bg = g.attentionBackward(qg, kg, vg, view(fg.o, oShape), dg, view(fg.lse, [B, Hq, T]), scale, causal);
  expect(await compareStorages(c, g, bc.dq, bg.dq, 1e-4, 1e-3), `dq ${label}`).toBeLessThanOrEqual(1);
  expect(await compareStorages(c, g, bc.dk, bg.dk, 1e-4, 1e-3), `dk ${label}`).toBeLessThanOrEqual(1);
  expect(await compareStorages(c, g, bc.dv, bg.dv, 1e-4, 1e-3), `dv ${label}`).toBeLessThanOrEqual(1);
  for (const s of [fg.o, fg.lse, bg.dq, bg.dk, bg.dv, qg.storage, kg.storage, vg.storage, dg.storage]) g.free(s);
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
