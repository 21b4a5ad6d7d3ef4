import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import { createCpuBackend } from '../cpu/index.js';
import { setAttentionDirect } from './kernels/attention.js';
import { compareStorages, randomFloats, tryWebGpu, twin } from './test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

for (const direct of [false, true])
  suite(`webgpu fused attention vs the CPU backend (${direct ? 'direct' : 'workgroup tiles'})`, () => {
    beforeAll(() => setAttentionDirect(direct));
    afterAll(() => setAttentionDirect(undefined));
    const g = backend!;
    const c = createCpuBackend();
    let seed = 100;
    async function check(B: number, Hq: number, Hkv: number, T: number, S: number, D: number, causal: boolean) {
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
    }

    it('causal self-attention with awkward lengths and head dims', async () => {
      await check(1, 1, 1, 1, 1, 8, true);
      await check(2, 2, 2, 13, 13, 8, true);
      await check(1, 2, 2, 129, 129, 16, true);
    }, 600_000);

    it('grouped-query heads, non-causal, and a KV-cache offset (S > T)', async () => {
      await check(2, 4, 2, 7, 7, 16, false);
      await check(1, 6, 2, 33, 33, 8, true);
      await check(1, 2, 1, 5, 70, 16, true);
      await check(1, 2, 1, 1, 33, 16, true);
    }, 600_000);
  });
