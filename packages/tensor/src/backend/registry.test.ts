import { afterEach, describe, expect, it, vi } from 'vitest';
import * as T from '../index.js';
import { webgpuStatus } from '../testing/webgpu-probe.js';

describe('backend registry', () => {
  afterEach(async () => {
    vi.unstubAllEnvs();
    await T.setBackend('cpu');
  });

  it('cpu is available and the default before initialisation', async () => {
    const b = await T.setBackend('cpu');
    expect(b.name).toBe('cpu');
    expect(T.getBackend()).toBe(b);
    expect(T.memory().backend).toBe('cpu');
  });

  it('ANDES_BACKEND overrides the default choice', async () => {
    vi.stubEnv('ANDES_BACKEND', 'cpu');
    expect((await T.initBackend()).name).toBe('cpu');
    vi.stubEnv('ANDES_BACKEND', 'tpu');
    await expect(T.initBackend()).rejects.toThrow(/setBackend: unknown backend 'tpu'/);
  });

  it("selectBackend: a name is setBackend, 'auto' and undefined are initBackend, anything else is named", async () => {
    vi.stubEnv('ANDES_BACKEND', 'cpu');
    expect((await T.selectBackend('cpu')).name).toBe('cpu');
    expect((await T.selectBackend('auto')).name).toBe('cpu');
    expect((await T.selectBackend(undefined)).name).toBe('cpu');
    expect(T.getBackend().name).toBe('cpu');
    await expect(T.selectBackend('tpu' as T.BackendChoice)).rejects.toThrow(
      "selectBackend: unknown backend 'tpu' (expected 'auto', 'webgpu' or 'cpu')",
    );
    if (webgpuStatus.ok) expect((await T.selectBackend('webgpu')).name).toBe('webgpu');
  });

  it('initBackend picks WebGPU when it works, else CPU with one warning (or throws when WebGPU is required)', async () => {
    vi.stubEnv('ANDES_BACKEND', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const chosen = await T.initBackend();
    if (webgpuStatus.ok) {
      expect(chosen.name).toBe('webgpu');
    } else {
      expect(chosen.name).toBe('cpu');
      await T.initBackend();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/lavapipe/);
      vi.stubEnv('ANDES_REQUIRE_WEBGPU', '1');
      await expect(T.initBackend()).rejects.toThrow(/setBackend\('webgpu'\)/);
    }
    warn.mockRestore();
  });
});
