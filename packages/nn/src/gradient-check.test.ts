import { seededUniform, setBackend, tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWeights, idsTensor, randomIds } from '../test/helpers.js';
import { type HostWeights, referenceLogits } from '../test/reference-llama.js';
import { llamaConfig } from './config.js';
import { LlamaForCausalLM } from './llama.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/** Mean next-token cross-entropy of the float64 reference model. */
function referenceLoss(
  config: Parameters<typeof referenceLogits>[0],
  w: HostWeights,
  ids: number[][],
  targets: number[][],
): number {
  const logits = referenceLogits(config, w, ids);
  let total = 0;
  let count = 0;
  logits.forEach((seq, b) => {
    seq.forEach((row, t) => {
      const target = targets[b]?.[t] as number;
      const m = Math.max(...row);
      total += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - (row[target] as number);
      count++;
    });
  });
  return total / count;
}

describe('gradient check of a whole model (CPU backend vs float64 finite differences)', () => {
  const variants: Array<[string, boolean, 'half' | 'interleaved', boolean]> = [
    ['untied, half rope', false, 'half', false],
    ['tied, interleaved rope, gradient checkpointing', true, 'interleaved', true],
  ];
  for (const [label, tied, ropeStyle, recompute] of variants)
    it(`every parameter tensor’s gradient matches a central difference of the float64 reference along a random direction (${label})`, async () => {
      const config = llamaConfig({
        vocab_size: 13,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        tie_word_embeddings: tied,
        rope_style: ropeStyle,
        rope_theta: 100,
      });
      const model = new LlamaForCausalLM(config, { seed: 21 });
      model.gradientCheckpointing = recompute;
      // Larger weights make every part of the network matter for the loss (softmax far from uniform, etc.).
      for (const [, p] of model.namedParameters()) {
        if (p.shape.length === 2) {
          const scaled = p.mul(10);
          p.assign(scaled);
          scaled.dispose();
        }
      }
      const ids = randomIds(2, 7, config.vocab_size, 4);
      const targets = randomIds(2, 7, config.vocab_size, 8);
      const loss = model.loss(idsTensor(ids), tensor(Int32Array.from(targets.flat()), [2, 7], { dtype: 'int32' }));
      loss.backward();
      const weights = await hostWeights(model);
      const base = new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)]));
      const rng = seededUniform(77);
      const eps = 1e-5;
      let checked = 0;
      for (const [name, p] of model.namedParameters()) {
        const grad = (await p.grad?.data()) as Float32Array;
        expect(grad, name).toBeDefined();
        const w0 = base.get(name) as Float64Array;
        const dir = Float64Array.from(w0, () => rng() * 2 - 1);
        let analytic = 0;
        for (let i = 0; i < dir.length; i++) analytic += (grad[i] as number) * (dir[i] as number);
        const shifted = (sign: number) =>
          new Map(
            [...base].map(([k, v]) => [k, k === name ? v.map((x, i) => x + sign * eps * (dir[i] as number)) : v]),
          );
        const numeric =
          (referenceLoss(config, shifted(1), ids, targets) - referenceLoss(config, shifted(-1), ids, targets)) /
          (2 * eps);
        const denom = Math.max(Math.abs(numeric), 1e-3);
        expect(
          Math.abs(analytic - numeric) / denom,
          `${name}: analytic ${analytic} vs numeric ${numeric}`,
        ).toBeLessThan(2e-3);
        checked++;
      }
      expect(checked).toBe(model.namedParameters().length);
      loss.dispose();
      model.dispose();
    });
});
