// The kernel tests' raw-backend helper, as a kernel test file would use it.
import { afterAll, describe, expect, it } from 'vitest';
import { tryWebGpu } from '../../src/webgpu/test-support.js';

const { backend } = await tryWebGpu();
afterAll(() => backend?.destroy());

(backend ? describe : describe.skip)('fixture kernels', () => {
  it('runs', () => expect(backend).toBeDefined());
});
