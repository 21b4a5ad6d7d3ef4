import { memory, noGrad, randn, type Tensor, tensor, tidy } from '@andes/tensor';
import { describeBackends } from '@andes/tensor/testing';
import { expect, it } from 'vitest';
import { llamaConfig } from './config.js';
import { throughLayers } from './decoder-layer.js';
import { LlamaForCausalLM } from './llama.js';

const config = llamaConfig({
  vocab_size: 37,
  hidden_size: 20,
  intermediate_size: 36,
  num_hidden_layers: 5,
  num_attention_heads: 5,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
});

describeBackends('throughLayers', () => {
  it('equals the plain loop, and frees each layer’s intermediates and input as the layer ends', async () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const positions = tensor(Int32Array.from([0, 1, 2]), [3], { dtype: 'int32' });
    const x = randn([1, 3, config.hidden_size], { seed: 5 });
    const want = noGrad(() =>
      tidy(() => {
        let h = x;
        for (const layer of model.model.layers) h = layer.forward(h, positions);
        return h;
      }),
    );
    const live: number[] = [];
    const input = x.add(0); // throughLayers frees its input
    const got = noGrad(() =>
      throughLayers(model.model.layers, input, (layer, h) => {
        live.push(memory().tensors);
        return layer.forward(h, positions);
      }),
    );
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    expect(input.isDisposed).toBe(true);
    // Entering every layer, the same tensors are alive: the previous layer's are gone, only its output remains.
    expect(new Set(live).size, `live tensors entering each layer: ${live.join(', ')}`).toBe(1);
    for (const t of [got, want, x, positions] as Tensor[]) t.dispose();
    model.dispose();
  });
});
