import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLoraAdapterDir, loadModel, loadModelDir, saveModel, saveModelDir } from '@andes/checkpoint';
import { syntheticStory } from '@andes/data';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { noGrad, setBackend, tensor } from '@andes/tensor';
import { trainBpe } from '@andes/tokenizer';
import { readMetrics, type TrainMetric } from '@andes/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'andes-finetune-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const base = join(root, 'base');

beforeAll(async () => {
  await setBackend('cpu');
  const tokenizer = await trainBpe(
    Array.from({ length: 8 }, (_, i) => syntheticStory(7, i)),
    { vocabSize: 320, byteFallback: true },
  );
  const config = llamaConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 256,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
  });
  const model = new LlamaForCausalLM(config, { seed: 3 });
  await saveModelDir(base, { config, model, tokenizer });
  model.dispose();
});

function args(out: string, extra: string[] = []): string[] {
  return [
    'finetune',
    '--model',
    base,
    '--data',
    'builtin:story-instruct',
    '--format',
    'sharegpt',
    '--examples',
    '60',
    '--out',
    join(root, out),
    '--steps',
    '4',
    '--batch-size',
    '2',
    '--lora-r',
    '4',
    '--lora-targets',
    'q_proj,v_proj,down_proj',
    '--checkpoint-interval',
    '2',
    '--eval-interval',
    '2',
    '--backend',
    'cpu',
    ...extra,
  ];
}

function trainLosses(dir: string): Map<number, number> {
  const losses = new Map<number, number>();
  for (const r of readMetrics(join(dir, 'metrics.jsonl')))
    if (r.type === 'train') losses.set(r.step, (r as TrainMetric).loss);
  return losses;
}

async function logits(model: LlamaForCausalLM): Promise<Float32Array> {
  const ids = tensor(Int32Array.from([1, 40, 41, 42, 80, 90, 7]), [1, 7], { dtype: 'int32' });
  return noGrad(async () => (await model.forward(ids).data()) as Float32Array);
}

describe('andes-train finetune', () => {
  it('trains a LoRA adapter, writes PEFT files, a merged model equal to base + adapter, and the run files', async () => {
    const run = runCli(args('lora', ['--merge']));
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const dir = join(root, 'lora');
    for (const file of [
      'adapter/adapter_config.json',
      'adapter/adapter_model.safetensors',
      'merged/config.json',
      'loss.svg',
    ])
      expect(existsSync(join(dir, file)), file).toBe(true);
    expect([...trainLosses(dir).keys()]).toEqual([1, 2, 3, 4]);
    const evals = readMetrics(join(dir, 'metrics.jsonl')).filter((r) => r.type === 'eval');
    expect(evals.map((r) => r.step)).toEqual([0, 2, 4]);
    expect(JSON.parse(readFileSync(join(dir, 'adapter/adapter_config.json'), 'utf8')).target_modules).toEqual([
      'q_proj',
      'v_proj',
      'down_proj',
    ]);
    // base + adapter (loaded from the PEFT files) vs the merged model directory.
    const loaded = await loadModelDir(base);
    const adapted = new LlamaForCausalLM(loaded.config);
    adapted.loadStateDict(loaded.tensors);
    const before = await logits(adapted);
    await applyLoraAdapterDir(adapted, join(dir, 'adapter'));
    adapted.eval();
    const withAdapter = await logits(adapted);
    const mergedDir = await loadModelDir(join(dir, 'merged'));
    const merged = new LlamaForCausalLM(mergedDir.config);
    merged.loadStateDict(mergedDir.tensors);
    const mergedLogits = await logits(merged);
    const diff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
    expect(diff(withAdapter, before)).toBeGreaterThan(1e-4); // the adapter learnt something
    expect(diff(mergedLogits, withAdapter)).toBeLessThan(1e-4);
    // The base directory is untouched by the run.
    const again = await loadModelDir(base);
    for (const [name, t] of again.tensors) expect(t.data, name).toEqual(loaded.tensors.get(name)?.data ?? t.data);
  });

  it('takes a GGUF file as the base model (--model file.gguf) and writes a merged model directory', async () => {
    const loaded = await loadModelDir(base);
    const gguf = join(root, 'base.gguf');
    await saveModel(gguf, { config: loaded.config, stateDict: loaded.tensors, tokenizer: loaded.tokenizer });
    const argv = args('from-gguf', ['--merge']);
    argv[argv.indexOf(base)] = gguf;
    const run = runCli(argv);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const merged = await loadModel(join(root, 'from-gguf', 'merged'));
    expect(merged.config.hidden_size).toBe(loaded.config.hidden_size);
    expect(merged.tokenizer?.vocabSize).toBe(loaded.tokenizer?.vocabSize);
  });

  it('an interrupted run resumes to the same losses as an uninterrupted one', async () => {
    const straight = trainLosses(join(root, 'lora'));
    const dir = join(root, 'killed');
    const child = startCli(args('killed', ['--merge']));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const second = join(dir, 'checkpoints', 'step-000002');
    const deadline = Date.now() + 60_000;
    while (!existsSync(second) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await exited;
    const resumed = runCli(['finetune', '--resume', '--out', dir]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* from step \d/);
    const losses = trainLosses(dir);
    expect([...losses.keys()]).toEqual([1, 2, 3, 4]);
    for (const [step, loss] of straight) expect(losses.get(step), `step ${step}`).toBe(loss);
  });

  it('a malformed data file fails with file:line and the field, without a stack trace', () => {
    const data = join(root, 'bad.json');
    writeFileSync(data, '[\n{"instruction": "a", "output": "b"},\n{"instruction": "c", "input": ""}\n]\n');
    const run = runCli([
      'finetune',
      '--model',
      base,
      '--data',
      data,
      '--format',
      'alpaca',
      '--out',
      join(root, 'bad'),
      '--backend',
      'cpu',
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(`andes-train: ${data}:3: field 'output' must be a string, got nothing`);
    const flags = runCli([
      'finetune',
      '--model',
      base,
      '--data',
      data,
      '--format',
      'dolly',
      '--out',
      join(root, 'bad'),
    ]);
    expect(flags.stderr).toMatch(/flag --format: expected one of alpaca, sharegpt, gpt4all, chat-jsonl/);
  });
});
