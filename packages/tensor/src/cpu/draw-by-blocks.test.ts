import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSamplingRows, type TokenSampling } from '../ops/sample-tokens.js';
import { makeRng } from '../testing/reference.js';
import { definitionToken, definitionWeights, logitRow } from '../testing/sampling-reference.js';
import { drawByBlocks, NOT_PROVEN } from './draw-by-blocks.js';
import { sampleRow } from './sample-tokens.js';
import { relaxedSimdSupported, setWasmRelaxedSimd } from './wasm-relaxed-simd.js';
import { wasmSampling } from './wasm-sampling.js';

// Both variants of the kernels: with relaxed SIMD's multiply-add (where the engine has it) and without.
const variants = relaxedSimdSupported() ? [false, true] : [false];
describe.runIf(wasmSampling() !== null).each(variants)('SIMD temperature draw, fused %s', (fused) => {
  let previous: boolean | undefined;
  beforeAll(() => {
    previous = setWasmRelaxedSimd(fused);
  });
  afterAll(() => {
    setWasmRelaxedSimd(previous);
  });

  it('picks the definition token on random rows: near-flat, peaked, odd vocabularies, temperatures 0.1–2', () => {
    const rng = makeRng(7);
    let proven = 0;
    let rows = 0;
    for (const n of [1001, 4099, 31999, 32000]) {
      for (const [spread, spikes] of [
        [0.2, 0], // near-flat, as random weights give
        [3, 0],
        [2.5, 8], // peaked
      ] as const) {
        for (let r = 0; r < 12; r++) {
          const a = logitRow(rng, n, spread, spikes);
          if (r % 4 === 1) a[Math.floor(rng() * n)] = Number.NEGATIVE_INFINITY;
          const temperature = 0.1 + 1.9 * rng();
          const uniform = rng();
          const id = drawByBlocks(a, temperature, uniform);
          rows++;
          if (id === NOT_PROVEN) continue;
          proven++;
          expect(id, `n ${n} spread ${spread} T ${temperature} u ${uniform}`).toBe(
            definitionToken(a, temperature, uniform),
          );
        }
      }
    }
    expect(proven).toBeGreaterThan(0.8 * rows); // the fast path decides most rows
  });

  it('falls back at uniforms within 1e-12 of a running sum, where a zero margin picks wrong tokens', () => {
    const rng = makeRng(13);
    let fallbacks = 0;
    let wrongWithoutMargin = 0;
    for (const n of [1001, 32000]) {
      for (let r = 0; r < 4; r++) {
        const a = logitRow(rng, n, r % 2 ? 0.2 : 3, r % 3 === 2 ? 8 : 0);
        const temperature = 0.8;
        const w = definitionWeights(a, temperature);
        let total = 0;
        for (const x of w) total += x;
        let acc = 0;
        const sums = Array.from(w, (x) => (acc += x));
        for (let k = 0; k < 5; k++) {
          const s = sums[Math.floor(rng() * (n - 1))]! / total;
          for (const uniform of [s - 1e-12, s, s + 1e-12]) {
            const expected = definitionToken(a, temperature, uniform);
            const id = drawByBlocks(a, temperature, uniform);
            if (id === NOT_PROVEN) fallbacks++;
            else expect(id).toBe(expected);
            if (drawByBlocks(a, temperature, uniform, 0) !== expected) wrongWithoutMargin++;
            // The whole kernel (SIMD draw, then its float64 fallbacks) still picks the definition token.
            const spec: TokenSampling = { temperature, topK: 0, topP: 1, uniform };
            expect(sampleRow(a, packSamplingRows([spec], n), 0)).toBe(expected);
          }
        }
      }
    }
    expect(fallbacks).toBeGreaterThan(0);
    expect(wrongWithoutMargin).toBeGreaterThan(0);
  });

  it('decides in float64 where float32 cannot: uniforms 1e-8 of the total from a running sum', () => {
    const rng = makeRng(29);
    let decided = 0;
    for (const n of [1001, 32000]) {
      const a = logitRow(rng, n, 0.3, 0); // near-flat: float32 sums are ~1e-6 of the total off
      const w = definitionWeights(a, 0.8);
      let total = 0;
      for (const x of w) total += x;
      let acc = 0;
      const sums = Array.from(w, (x) => (acc += x));
      for (let k = 0; k < 10; k++) {
        const s = sums[Math.floor(rng() * (n - 1))]! / total;
        for (const uniform of [s - 1e-8, s + 1e-8]) {
          const id = drawByBlocks(a, 0.8, uniform);
          if (id === NOT_PROVEN) continue;
          decided++;
          expect(id).toBe(definitionToken(a, 0.8, uniform));
        }
      }
    }
    expect(decided).toBeGreaterThan(30); // of 40: the float64 try decides nearly all
  });

  it('draws at uniforms 0 and just below 1 as the definition does', () => {
    const rng = makeRng(19);
    for (const n of [999, 32000]) {
      const a = logitRow(rng, n, 2, 3);
      a[0] = 30; // the maximum: the definition's token at uniform 0, decided here (no earlier sum to doubt)
      expect(drawByBlocks(a, 0.9, 0)).toBe(0);
      for (let i = 0; i < 70; i++) a[i] = Number.NEGATIVE_INFINITY; // the first tokens weigh 0
      for (const uniform of [0, 1e-300, 0.5, 0.999999, 1 - 2 ** -53]) {
        const id = drawByBlocks(a, 0.9, uniform);
        if (id !== NOT_PROVEN) expect(id).toBe(definitionToken(a, 0.9, uniform));
        const spec: TokenSampling = { temperature: 0.9, topK: 0, topP: 1, uniform };
        expect(sampleRow(a, packSamplingRows([spec], n), 0)).toBe(definitionToken(a, 0.9, uniform));
      }
    }
  });

  it('leaves NaN and +∞ rows to the float64 paths, and keeps bias and penalties exact', () => {
    const rng = makeRng(17);
    const a = logitRow(rng, 2001, 2, 0);
    // NaNs with payloads in every bit the exponent trick would shift (a quiet NaN, all ones, a signalling NaN).
    for (const bits of [0x7fc00000, 0xffffffff, 0x7f8001ff]) {
      const x = a.slice();
      new Uint32Array(x.buffer)[100 + (bits & 7)] = bits;
      expect(Number.isNaN(x[100 + (bits & 7)])).toBe(true);
      expect(drawByBlocks(x, 1, 0.5)).toBe(NOT_PROVEN);
    }
    a[100] = Number.POSITIVE_INFINITY;
    expect(drawByBlocks(a, 1, 0.5)).toBe(NOT_PROVEN);
    const b = logitRow(rng, 2001, 2, 0);
    for (let r = 0; r < 20; r++) {
      const spec: TokenSampling = {
        temperature: 0.7,
        topK: 0,
        topP: 1,
        uniform: rng(),
        logitBias: new Map([
          [7, 5],
          [9, -100],
        ]),
        counts: new Map([
          [11, 2],
          [12, 1],
        ]),
        presencePenalty: 0.4,
        frequencyPenalty: 0.3,
      };
      const rows = packSamplingRows([spec], b.length);
      // The adjusted logits, written out from the definition (sample-tokens.ts, step 1).
      const adjusted = Float32Array.from(b);
      for (let e = rows.entryStart[0]!; e < rows.entryStart[1]!; e++) {
        const id = rows.entryIds[e]!;
        const x = Math.fround(adjusted[id]! + rows.bias[e]!);
        const scaled = Math.fround(x * (x > 0 ? rows.scalePositive[e]! : rows.scaleNegative[e]!));
        adjusted[id] = Math.fround(scaled - rows.penalty[e]!);
      }
      expect(sampleRow(b, rows, 0)).toBe(definitionToken(adjusted, 0.7, spec.uniform));
    }
  });
});
