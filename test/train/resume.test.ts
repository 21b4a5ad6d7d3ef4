import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir } from '@andes/checkpoint';
import { generateIds, LlamaForCausalLM } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { readMetrics, type TrainMetric } from '@andes/train';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'andes-train-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STEPS = 24;
const CHECKPOINT_EVERY = 3;

/** A run small enough for seconds per step on a shared CPU. */
function writeConfig(outDir: string): string {
  const path = join(root, `${outDir}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      preset: 'nano',
      model: { num_hidden_layers: 1 },
      vocabSize: 300,
      tokenizerBytes: 20_000,
      batchSize: 2,
      seqLen: 16,
      gradAccum: 2,
      lr: 3e-3,
      minLr: 3e-4,
      warmupSteps: 3,
      steps: STEPS,
      evalInterval: 0,
      evalBatches: 1,
      sampleTokens: 2,
      prompts: ['Once'],
      checkpointInterval: CHECKPOINT_EVERY,
      keepLast: 2,
      outDir: join(root, outDir),
      seed: 7,
      backend: 'cpu',
    }),
  );
  return path;
}

function trainLosses(runDir: string): Map<number, number> {
  const losses = new Map<number, number>();
  for (const r of readMetrics(join(runDir, 'metrics.jsonl'))) {
    if (r.type !== 'train') continue;
    expect(losses.has(r.step), `step ${r.step} logged twice`).toBe(false);
    losses.set(r.step, (r as TrainMetric).loss);
  }
  return losses;
}

describe('andes-train resume', () => {
  it('continues a SIGKILLed run with the same loss at every later step as an uninterrupted run', async () => {
    const straight = runCli(['pretrain', '--config', writeConfig('straight')]);
    expect(straight.status, straight.stderr).toBe(0);
    const reference = trainLosses(join(root, 'straight'));
    expect([...reference.keys()]).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));

    const killedDir = join(root, 'killed');
    const child = startCli(['pretrain', '--config', writeConfig('killed')]);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill as soon as the second checkpoint is complete (directories are renamed into place when complete).
    const second = join(killedDir, 'checkpoints', `step-${String(2 * CHECKPOINT_EVERY).padStart(6, '0')}`);
    const deadline = Date.now() + 180_000;
    while (!existsSync(second) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    expect(await exited, stderr).toBe('SIGKILL');
    const beforeResume = trainLosses(killedDir);
    expect(beforeResume.size).toBeLessThan(STEPS);

    const resumed = runCli(['resume', killedDir]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* from step \d+/);
    const after = trainLosses(killedDir);
    expect([...after.keys()]).toEqual([...reference.keys()]);
    for (const [step, loss] of reference) {
      // Same kernels, same order: the losses agree to float32 rounding.
      expect(Math.abs((after.get(step) as number) - loss), `step ${step}`).toBeLessThan(1e-5 * Math.max(1, loss));
    }
    // The run learned something, so equal losses are not equal by accident.
    expect(reference.get(STEPS) as number).toBeLessThan(reference.get(1) as number);
    expect(existsSync(join(killedDir, 'model', 'model.safetensors'))).toBe(true);
  });

  it('saves a checkpoint and exits cleanly on SIGINT', async () => {
    const dir = join(root, 'interrupted');
    const child = startCli(['pretrain', '--config', writeConfig('interrupted'), '--checkpoint-interval', '0']);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const metricsPath = join(dir, 'metrics.jsonl');
    const deadline = Date.now() + 180_000;
    while (!existsSync(metricsPath) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const match = /interrupted: checkpoint saved at step (\d+)/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    const step = Number(match![1]);
    expect(step).toBeLessThan(STEPS);
    expect(existsSync(join(dir, 'checkpoints', `step-${String(step).padStart(6, '0')}`, 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, 'model'))).toBe(false);
  });

  it('stops at the time budget with an evaluated, saved model and a checkpoint to resume from', () => {
    const dir = join(root, 'budget');
    const result = runCli(['pretrain', '--config', writeConfig('budget'), '--time-budget', '0.001']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`time budget of 0.001 s reached at step 1 of ${STEPS}`));
    expect(result.stdout).toMatch(/validation loss: +\d/);
    expect(existsSync(join(dir, 'model', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'checkpoints', 'step-000001', 'manifest.json'))).toBe(true);
    expect(readMetrics(join(dir, 'metrics.jsonl')).filter((r) => r.type === 'eval')).toHaveLength(1);
  });

  it('samples greedily from the saved model exactly as generateIds on the loaded model does', async () => {
    const modelDir = join(root, 'budget', 'model');
    expect(existsSync(modelDir), 'run the time-budget test first').toBe(true);
    const result = runCli(['sample', join(root, 'budget'), '--prompt', 'Once upon', '--temperature', '0']);
    expect(result.status, result.stderr).toBe(0);
    await setBackend('cpu');
    const loaded = await loadModelDir(modelDir);
    const model = new LlamaForCausalLM(loaded.config);
    model.loadStateDict(loaded.tensors);
    const prompt = loaded.tokenizer!.encode('Once upon', { bos: true });
    const ids = await generateIds(model, prompt, { maxNewTokens: 128, temperature: 0 });
    expect(result.stdout).toBe(`${loaded.tokenizer!.decode([...prompt, ...ids])}\n`);
    model.dispose();
  });
});
