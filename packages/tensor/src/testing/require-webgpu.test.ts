import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The one probe decides for every WebGPU test in the repo. This runs the suite helpers (describeBackends,
// describeWebGpu) and the kernel tests' tryWebGpu in a child vitest where Vulkan finds no driver, so no adapter
// exists: without ANDES_REQUIRE_WEBGPU their WebGPU tests are skipped visibly; with it, every one of them fails.
const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/require-webgpu');
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

function runFixtures(requireWebGpu: boolean): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VK_ICD_FILENAMES: '/nonexistent',
    ANDES_REQUIRE_WEBGPU: requireWebGpu ? '1' : '',
    NO_COLOR: '1',
  };
  delete env.FORCE_COLOR;
  delete env.ANDES_BACKEND;
  delete env.CI;
  const r = spawnSync(process.execPath, [vitest, 'run', '--config', join(fixtures, 'vitest.config.ts')], {
    cwd: fixtures,
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe.runIf(process.platform === 'linux')('ANDES_REQUIRE_WEBGPU with no adapter', () => {
  it('skips WebGPU tests visibly by default and fails every one of them when set', (ctx) => {
    const relaxed = runFixtures(false);
    // Another platform layer (e.g. a GL driver) may still offer an adapter: then there is nothing to check here.
    if (relaxed.output.includes('PROBE ok=true')) ctx.skip();
    expect(relaxed.output).toContain('PROBE ok=false');
    expect(relaxed.status, relaxed.output).toBe(0);
    expect(relaxed.output).toMatch(/webgpu tests skipped: .*no WebGPU adapter.*ANDES_REQUIRE_WEBGPU=1 to fail/);

    const strict = runFixtures(true);
    expect(strict.status, strict.output).not.toBe(0);
    // describeBackends' and describeWebGpu's WebGPU groups each fail with the probe's reason …
    expect(strict.output).toMatch(/fixture ops \[webgpu\] > needs a WebGPU adapter \(ANDES_REQUIRE_WEBGPU=1\)/);
    expect(strict.output).toMatch(/fixture comparison \[webgpu\] > needs a WebGPU adapter \(ANDES_REQUIRE_WEBGPU=1\)/);
    expect(strict.output).toMatch(/no WebGPU adapter available/);
    // … and tryWebGpu fails the kernel file; the CPU group still passes.
    expect(strict.output).toMatch(/kernels\.fixture\.ts[\s\S]*WebGPU is required \(ANDES_REQUIRE_WEBGPU=1\)/);
    expect(strict.output).toMatch(/Tests\s+2 failed \| 1 passed/);
  });
});
