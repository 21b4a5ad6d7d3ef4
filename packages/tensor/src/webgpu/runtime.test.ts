import { afterAll, describe, expect, it } from 'vitest';
import type { View } from '../backend/backend.js';
import type { WebGpuBackend } from './backend.js';
import { bucketBytes } from './pool.js';
import { readNumbers, tryWebGpu, upload } from './test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

const vec = (storage: View['storage'], n: number, offset = 0): View => ({ storage, shape: [n], strides: [1], offset });

suite('webgpu runtime: batching, uniforms, pool, errors', () => {
  const g = backend as WebGpuBackend;

  it('a host write after a queued read of the same storage does not leak into the earlier kernel', async () => {
    const x = upload(g, Float32Array.from([1, 2, 3]), [3]);
    const y = g.unary('neg', x);
    g.write(x.storage, Float32Array.from([10, 20, 30]));
    const z = g.unary('neg', x);
    expect(await readNumbers(g, y)).toEqual([-1, -2, -3]);
    expect(await readNumbers(g, z)).toEqual([-10, -20, -30]);
  });

  it('hundreds of dispatches of different sizes in one flush each see their own uniforms', async () => {
    const outs = [];
    for (let n = 1; n <= 300; n++) outs.push(g.arange('float32', n, n, 0.5));
    for (const [i, s] of outs.entries()) {
      const got = await g.read(s);
      expect(got.length).toBe(i + 1);
      expect(got[i]).toBeCloseTo(i + 1 + 0.5 * i, 5);
      g.free(s);
    }
  });

  it('new sizes reuse compiled pipelines', async () => {
    const a = upload(g, new Float32Array(7).fill(1), [7]);
    g.free(g.binary('add', a, a, [7]));
    const before = g.rt.compiled;
    const b = upload(g, new Float32Array(1029).fill(1), [1029]);
    const out = g.binary('add', b, b, [1029]);
    expect((await g.read(out))[1028]).toBe(2);
    expect(g.rt.compiled).toBe(before);
  });

  it('memory() counts live and pooled bytes; freed buffers are reused', async () => {
    await g.sync();
    const start = g.memory();
    const s = g.alloc('float32', 1000);
    expect(g.memory().bytesInUse - start.bytesInUse).toBe(bucketBytes(4000));
    g.free(s);
    g.flush();
    expect(g.memory().bytesInUse).toBe(start.bytesInUse);
    const pooled = g.memory().bytesPooled;
    const again = g.alloc('float32', 990);
    expect(g.memory().bytesPooled).toBe(pooled - bucketBytes(4000));
    g.free(again);
    expect(() => g.free(again)).toThrow(/freed twice/);
  });

  it('a storage freed while queued kernels still read it keeps its contents for them', async () => {
    const x = upload(g, Float32Array.from([4, 5, 6]), [3]);
    const y = g.unary('square', vec(x.storage, 2, 1));
    g.free(x.storage);
    const z = g.fill('float32', 3, 9); // may reuse x's buffer only after the first batch was submitted
    expect(await readNumbers(g, y)).toEqual([25, 36]);
    expect(await readNumbers(g, z)).toEqual([9, 9, 9]);
  });

  it('bucketBytes rounds up to quarter powers of two', () => {
    expect(bucketBytes(1)).toBe(256);
    expect(bucketBytes(1024)).toBe(1024);
    expect(bucketBytes(1025)).toBe(1280);
    expect(bucketBytes(1800)).toBe(2048);
  });
});

describe('webgpu runtime: destroyed backend', () => {
  it.skipIf(!backend)('throws a clear Error instead of crashing', async () => {
    const { createWebGpuBackend } = await import('./index.js');
    const b = await createWebGpuBackend();
    const s = b.fill('float32', 4, 1);
    b.destroy();
    expect(() => b.fill('float32', 4, 1)).toThrow(/webgpu\.alloc: the backend was destroyed/);
    await expect(b.read(s)).rejects.toThrow(/destroyed/);
  });
});

describe('webgpu runtime: compatibility feature level', () => {
  it.skipIf(!backend)(
    'runs the 8-storage-buffer attention backward and matmul on a compatibility adapter',
    async () => {
      const { findGpu } = await import('./device.js');
      const { createWebGpuBackend } = await import('./index.js');
      const { createCpuBackend } = await import('../cpu/index.js');
      const { compareStorages, randomFloats, twin } = await import('./test-support.js');
      const gpu = (await findGpu())!;
      const compat = {
        requestAdapter: (o?: GPURequestAdapterOptions) =>
          gpu.requestAdapter({ ...o, featureLevel: 'compatibility' } as GPURequestAdapterOptions),
      } as GPU;
      const g = await createWebGpuBackend({ gpu: compat });
      const c = createCpuBackend();
      try {
        const [B, H, T, D] = [1, 2, 9, 8];
        const [qc, qg] = twin(c, g, randomFloats(B * H * T * D, 1), [B, H, T, D]);
        const fc = c.attention(qc, qc, qc, 0.3, true);
        const fg = g.attention(qg, qg, qg, 0.3, true);
        const lse = (s: View['storage']): View => ({ storage: s, shape: [B, H, T], strides: [H * T, T, 1], offset: 0 });
        const bc = c.attentionBackward(qc, qc, qc, { ...qc, storage: fc.o }, qc, lse(fc.lse), 0.3, true);
        const bg = g.attentionBackward(qg, qg, qg, { ...qg, storage: fg.o }, qg, lse(fg.lse), 0.3, true);
        expect(await compareStorages(c, g, bc.dk, bg.dk, 1e-4, 1e-3)).toBeLessThanOrEqual(1);
        const [ac, ag] = twin(c, g, randomFloats(33 * 17, 2), [33, 17]);
        expect(
          await compareStorages(
            c,
            g,
            c.matmul(ac, { ...ac, shape: [17, 33], strides: [1, 17] }, []),
            g.matmul(ag, { ...ag, shape: [17, 33], strides: [1, 17] }, []),
          ),
        ).toBeLessThanOrEqual(1);
      } finally {
        g.destroy();
      }
    },
    600_000,
  );
});
