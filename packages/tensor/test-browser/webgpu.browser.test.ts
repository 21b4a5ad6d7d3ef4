// The WebGPU backend on the browser's navigator.gpu (headless Chromium), checked against the CPU backend (plain JS).
import { afterAll, describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { createCpuBackend } from '../src/cpu/index.js';
import { randomBlockBytes } from '../src/quant/random-block-bytes.js';
import { compareStorages, randomFloats, rng, transposed, tryWebGpu, twin, upload } from '../src/webgpu/test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

const contiguous = (storage: View['storage'], shape: number[]): View => ({
  storage,
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  offset: 0,
});

suite('webgpu backend on navigator.gpu', () => {
  const g = backend!;
  const c = createCpuBackend();

  it('runs on the browser implementation', () => {
    expect(typeof navigator.gpu).toBe('object');
    expect(g.name).toBe('webgpu');
  });

  it('matmul with a transposed operand and the GEMV path', async () => {
    const [ac, ag] = twin(c, g, randomFloats(33 * 65, 1), [33, 65]);
    const [bc, bg] = twin(c, g, randomFloats(17 * 65, 2), [17, 65]);
    const out = await compareStorages(
      c,
      g,
      c.matmul(ac, transposed(bc, 0, 1), []),
      g.matmul(ag, transposed(bg, 0, 1), []),
    );
    expect(out).toBeLessThanOrEqual(1);
    const [xc, xg] = twin(c, g, randomFloats(65, 3), [1, 65]);
    expect(
      await compareStorages(c, g, c.matmul(xc, transposed(bc, 0, 1), []), g.matmul(xg, transposed(bg, 0, 1), [])),
    ).toBeLessThanOrEqual(1);
  });

  it('softmax and log-softmax', async () => {
    const [xc, xg] = twin(c, g, randomFloats(9 * 300, 4, -5, 5), [9, 300]);
    for (const log of [false, true]) {
      expect(await compareStorages(c, g, c.softmax(xc, 9, 300, log), g.softmax(xg, 9, 300, log))).toBeLessThanOrEqual(
        1,
      );
    }
  });

  it('fused attention forward and backward (causal, grouped-query)', async () => {
    const [B, Hq, Hkv, T, D] = [1, 4, 2, 37, 16];
    const [qc, qg] = twin(c, g, randomFloats(B * Hq * T * D, 5), [B, Hq, T, D]);
    const [kc, kg] = twin(c, g, randomFloats(B * Hkv * T * D, 6), [B, Hkv, T, D]);
    const [vc, vg] = twin(c, g, randomFloats(B * Hkv * T * D, 7), [B, Hkv, T, D]);
    const fc = c.attention(qc, kc, vc, 0.25, true);
    const fg = g.attention(qg, kg, vg, 0.25, true);
    expect(await compareStorages(c, g, fc.o, fg.o)).toBeLessThanOrEqual(1);
    expect(await compareStorages(c, g, fc.lse, fg.lse)).toBeLessThanOrEqual(1);
    const [dc, dg] = twin(c, g, randomFloats(B * Hq * T * D, 8), [B, Hq, T, D]);
    const shape = [B, Hq, T, D];
    const bc = c.attentionBackward(qc, kc, vc, contiguous(fc.o, shape), dc, contiguous(fc.lse, [B, Hq, T]), 0.25, true);
    const bg = g.attentionBackward(qg, kg, vg, contiguous(fg.o, shape), dg, contiguous(fg.lse, [B, Hq, T]), 0.25, true);
    for (const k of ['dq', 'dk', 'dv'] as const) {
      expect(await compareStorages(c, g, bc[k], bg[k], 1e-4, 1e-3), k).toBeLessThanOrEqual(1);
    }
  });

  it('blockGather (blockEmbedding) of every block format: bit-equal to the CPU backend', async () => {
    const rows = 37;
    for (const [type, k] of [
      ['F16', 45],
      ['BF16', 33],
      ['Q8_0', 96],
      ['Q4_0', 160],
      ['Q4_K', 768],
      ['Q6_K', 256],
    ] as const) {
      const bytes = randomBlockBytes(type, rows * k, rng(k));
      const ids = Int32Array.from([36, 0, 5, 5, 17, 2, 29]);
      const wc = c.alloc('int32', Math.ceil(bytes.length / 4));
      c.write(wc, new Int32Array(Uint8Array.from({ length: 4 * wc.size }, (_, i) => bytes[i] ?? 0).buffer));
      const wg = g.packBlockWeight!(type, rows, k, bytes);
      const oc = c.blockGather(wc, upload(c, ids, [ids.length]), type, rows, k);
      const og = g.blockGather(wg, upload(g, ids, [ids.length]), type, rows, k);
      expect(await compareStorages(c, g, oc, og, 0, 0), type).toBeLessThanOrEqual(0);
      g.free(wg);
    }
  });

  it('rmsNorm backward', async () => {
    const [rows, D] = [21, 70];
    const [xc, xg] = twin(c, g, randomFloats(rows * D, 9), [rows, D]);
    const [wc, wg] = twin(c, g, randomFloats(D, 10, 0.5, 1.5), [D]);
    const [dc, dg] = twin(c, g, randomFloats(rows * D, 11), [rows, D]);
    const fc = c.rmsNorm(xc, wc, 1e-6);
    const fg = g.rmsNorm(xg, wg, 1e-6);
    const bc = c.rmsNormBackward(dc, xc, wc, contiguous(fc.rstd, [rows]));
    const bg = g.rmsNormBackward(dg, xg, wg, contiguous(fg.rstd, [rows]));
    expect(await compareStorages(c, g, bc.dx, bg.dx, 1e-5, 1e-3)).toBeLessThanOrEqual(1);
    expect(await compareStorages(c, g, bc.dweight, bg.dweight, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });
});
