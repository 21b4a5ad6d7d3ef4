// The two suite helpers every package uses, as a test file would use them.
import { expect, it } from 'vitest';
import { describeBackends, describeWebGpu } from '../../src/testing/describe-backends.js';
import { webgpuStatus } from '../../src/testing/webgpu-probe.js';

console.log(`PROBE ok=${webgpuStatus.ok}`);

describeBackends('fixture ops', (backend) => {
  it('runs', () => expect(backend === 'cpu' || backend === 'webgpu').toBe(true));
});

describeWebGpu('fixture comparison', () => {
  it('runs', () => expect(1).toBe(1));
});
