import { afterEach, describe, expect, it, vi } from 'vitest';

// Simulate a machine without a WebGPU adapter, whatever this one has.
vi.mock('../webgpu/index.js', () => ({
  createWebGpuBackend: async () => {
    throw new Error('no WebGPU adapter found');
  },
}));

const { getBackend, initBackend, selectBackend, setBackend } = await import('./registry.js');

describe('backend registry without a WebGPU adapter', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("setBackend('webgpu') rejects naming the cause", async () => {
    await expect(setBackend('webgpu')).rejects.toThrow(
      "setBackend('webgpu'): WebGPU is unavailable: no WebGPU adapter found",
    );
  });

  it('initBackend falls back to the CPU with exactly one warning line that says how to get WebGPU', async () => {
    vi.stubEnv('ANDES_BACKEND', '');
    vi.stubEnv('ANDES_REQUIRE_WEBGPU', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect((await initBackend()).name).toBe('cpu');
    expect((await initBackend()).name).toBe('cpu');
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0]![0]);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/no WebGPU adapter found.*CPU backend.*lavapipe/);
    expect(getBackend().name).toBe('cpu');
  });

  it('ANDES_REQUIRE_WEBGPU=1 turns the fallback into an error', async () => {
    vi.stubEnv('ANDES_BACKEND', '');
    vi.stubEnv('ANDES_REQUIRE_WEBGPU', '1');
    await expect(initBackend()).rejects.toThrow(/no WebGPU adapter found/);
    await expect(selectBackend('auto')).rejects.toThrow(/no WebGPU adapter found/);
  });

  it("selectBackend('webgpu') rejects with setBackend's message; 'auto' falls back to the CPU", async () => {
    vi.stubEnv('ANDES_BACKEND', '');
    vi.stubEnv('ANDES_REQUIRE_WEBGPU', '');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    await expect(selectBackend('webgpu')).rejects.toThrow(
      "setBackend('webgpu'): WebGPU is unavailable: no WebGPU adapter found",
    );
    expect((await selectBackend('auto')).name).toBe('cpu');
  });
});
