import { afterAll, describe, expect, it } from 'vitest';
import { philoxFill } from '../random/philox.js';
import { closeness, readNumbers, tryWebGpu } from './test-support.js';

const { backend } = await tryWebGpu(); // skipped (one warning line) or failing as the one probe decides
const suite = backend ? describe : describe.skip;
afterAll(() => backend?.destroy());

suite('webgpu Philox4x32-10', () => {
  const g = backend!;
  it('uniform is bit-exact with the reference, across a 2^32 counter carry', async () => {
    for (const [seed, offset, n] of [
      [0, 0, 1000],
      [123456789, 7, 333],
      [2 ** 40 + 5, 2 ** 32 - 100, 300],
    ] as const) {
      const got = await readNumbers(g, g.random('uniform', n, seed, offset));
      expect(got).toEqual(Array.from(philoxFill('uniform', new Float32Array(n), seed, offset)));
    }
  });
  it('normal matches the reference up to float rounding of the transform', async () => {
    const n = 4099;
    const got = await readNumbers(g, g.random('normal', n, 42, 1000));
    const ref = philoxFill('normal', new Float32Array(n), 42, 1000);
    expect(closeness(got, ref, 2e-5, 2e-5)).toBeLessThanOrEqual(1);
  });
});
