import { syntheticStory } from '@andes/data';
import { LocalModel } from '@andes/eval';
import { setBackend } from '@andes/tensor';
import { describeWebGpu } from '@andes/tensor/testing';
import { expect, it } from 'vitest';
import { tinyModelDir } from './tiny-model-dir.js';

// The evaluation paths (batched rows with gathered last logits, KV-cache shared contexts, rolling windows) on
// WebGPU against the CPU reference backend. Skipped visibly without an adapter, failing with ANDES_REQUIRE_WEBGPU=1.
describeWebGpu('andes-eval', () => {
  it('scores the same on WebGPU as on the CPU backend', async () => {
    await setBackend('cpu');
    const dir = await tinyModelDir({ seed: 3 });
    const story = syntheticStory(2, 2);
    const requests = [
      { context: story.slice(0, 50), continuation: ' the ball' },
      { context: story.slice(0, 50), continuation: ' Lily' },
      { context: story.slice(0, 90), continuation: ' she was happy' },
      { context: story.slice(0, 90), continuation: ' x' },
      { context: story.slice(0, 300), continuation: ' end' },
    ];
    const rolling = { maxLength: 20, stride: 7 };
    const cpuModel = await LocalModel.load(dir);
    const cpu = await cpuModel.loglikelihood(requests);
    const cpuRolling = await cpuModel.loglikelihoodRolling([story], rolling);
    await cpuModel.close();
    await setBackend('webgpu');
    const gpuModel = await LocalModel.load(dir);
    const gpu = await gpuModel.loglikelihood(requests);
    const gpuRolling = await gpuModel.loglikelihoodRolling([story], rolling);
    await gpuModel.close();
    gpu.forEach((g, i) => {
      expect(g.logprob).toBeCloseTo(cpu[i]!.logprob, 3);
      expect(g.isGreedy).toBe(cpu[i]!.isGreedy);
    });
    expect(gpuRolling[0]!.tokens).toBe(cpuRolling[0]!.tokens);
    expect(Math.abs(gpuRolling[0]!.logprob - cpuRolling[0]!.logprob) / Math.abs(cpuRolling[0]!.logprob)).toBeLessThan(
      1e-6,
    );
  });
});
