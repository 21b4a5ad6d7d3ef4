import { SeededRandom, sampleTokens, tensor } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { DEFAULT_SAMPLING, Sampler, type SamplingParams } from './sampling.js';

const options = fc.record({
  temperature: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 2.5, noNaN: true })),
  topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
  topP: fc.oneof(fc.constant(1), fc.double({ min: 0.1, max: 1, noNaN: true })),
  presencePenalty: fc.oneof(fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })),
  frequencyPenalty: fc.oneof(fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })),
  repetitionPenalty: fc.oneof(fc.constant(1), fc.double({ min: 0.7, max: 1.5, noNaN: true })),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 40 }),
});

describeBackends('Sampler.draw + sampleTokens (a batch of sequences on the device)', () => {
  it('chooses exactly the tokens the host Sampler chooses, step after step, for every setting', async () => {
    const V = 1531; // not a multiple of any workgroup size
    const cases = fc.sample(fc.array(options, { minLength: 2, maxLength: 6 }), { seed: 42, numRuns: 6 });
    const rng = new SeededRandom(3);
    for (const opts of cases) {
      const params: SamplingParams[] = opts.map((o, i) => ({
        ...DEFAULT_SAMPLING,
        ...o,
        logitBias: o.bias
          ? new Map([
              [(i * 97) % V, 3],
              [7, -2],
            ])
          : new Map(),
      }));
      const host = params.map((p) => new Sampler(p));
      const device = params.map((p) => new Sampler(p));
      for (let step = 0; step < 5; step++) {
        // Peaked rows, as a model's are: a few strong logits over a noisy floor, so generated tokens repeat.
        const data = Float32Array.from({ length: params.length * V }, (_, i) =>
          i % V < 12 ? 4 + rng.next() * 3 : rng.next() * 4 - 2,
        );
        const want = host.map((s, r) => s.sample(data.subarray(r * V, (r + 1) * V)));
        const logits = tensor(data, [params.length, V]);
        const { ids } = sampleTokens(
          logits,
          device.map((s) => s.draw()),
        );
        const got = Array.from(await ids.data());
        ids.dispose();
        logits.dispose();
        expect(got).toEqual(want);
        want.forEach((id, r) => {
          host[r]!.observe(id);
          device[r]!.observe(id);
        });
      }
    }
  });
});
