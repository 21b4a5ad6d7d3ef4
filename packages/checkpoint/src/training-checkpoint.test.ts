import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SavableTensor, TensorLike } from './host-tensors.js';
import { sha256Hex } from './manifest.js';
import {
  latestCheckpoint,
  listCheckpoints,
  loadLatestTrainingCheckpoint,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from './training-checkpoint.js';

/** A stand-in for an @andes/tensor Tensor: shape, dtype and an async read-back. */
function fakeTensor(shape: number[], values: number[], dtype: 'float32' | 'int32' = 'float32'): TensorLike {
  return { shape, dtype, data: async () => (dtype === 'float32' ? new Float32Array(values) : new Int32Array(values)) };
}

let runDir: string;
beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'andes-run-'));
});
afterEach(() => rm(runDir, { recursive: true, force: true }));

function checkpoint(step: number, valLoss?: number): TrainingCheckpoint {
  const w = Array.from({ length: 6 }, (_, i) => Math.sin(step + i) * 0.1);
  return {
    step,
    model: new Map<string, SavableTensor>([
      ['model.embed_tokens.weight', fakeTensor([3, 2], w)],
      ['model.norm.weight', { shape: [2], data: new Float32Array([1, step]) }],
    ]),
    optimizer: {
      tensors: {
        'exp_avg.model.norm.weight': { shape: [2], data: new Float32Array([0.5, -0.5]) },
        counts: fakeTensor([2], [step, 7], 'int32'),
      },
      state: { step, lr: 3e-4, betas: [0.9, 0.95] },
    },
    scheduler: { step, warmup: 100 },
    dataLoader: { version: 1, window: step, taken: 3 },
    rng: { philox: [1, 2, 3, 4] },
    metrics: valLoss === undefined ? {} : { valLoss },
    extra: { note: 'test' },
  };
}

describe('training checkpoints', () => {
  it('round-trip tensors and JSON exactly, with a sha256 manifest', async () => {
    const dir = await saveTrainingCheckpoint(runDir, checkpoint(123, 2.5));
    expect(basename(dir)).toBe('step-000123');
    expect((await readdir(dir)).sort()).toEqual([
      'manifest.json',
      'model.safetensors',
      'optimizer.safetensors',
      'state.json',
    ]);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files['state.json'].sha256).toBe(sha256Hex(await readFile(join(dir, 'state.json'))));

    const loaded = await loadTrainingCheckpoint(dir);
    expect(loaded.step).toBe(123);
    const w = Array.from({ length: 6 }, (_, i) => Math.fround(Math.sin(123 + i) * 0.1));
    expect(loaded.model.get('model.embed_tokens.weight')).toEqual({
      dtype: 'F32',
      shape: [3, 2],
      data: new Float32Array(w),
    });
    expect(loaded.model.get('model.norm.weight')!.data).toEqual(new Float32Array([1, 123]));
    expect(loaded.optimizer.tensors.get('counts')).toEqual({
      dtype: 'I32',
      shape: [2],
      data: new Int32Array([123, 7]),
    });
    expect(loaded.optimizer.state).toEqual({ step: 123, lr: 3e-4, betas: [0.9, 0.95] });
    expect(loaded.scheduler).toEqual({ step: 123, warmup: 100 });
    expect(loaded.dataLoader).toEqual({ version: 1, window: 123, taken: 3 });
    expect(loaded.rng).toEqual({ philox: [1, 2, 3, 4] });
    expect(loaded.metrics).toEqual({ valLoss: 2.5 });
    expect(loaded.extra).toEqual({ note: 'test' });
  });

  it('refuse a corrupted byte or a truncated file, naming the file', async () => {
    const dir = await saveTrainingCheckpoint(runDir, checkpoint(5));
    const model = join(dir, 'model.safetensors');
    const bytes = await readFile(model);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(model, bytes);
    await expect(loadTrainingCheckpoint(dir)).rejects.toThrow(/step-000005: model\.safetensors is corrupted \(sha256/);

    const dir2 = await saveTrainingCheckpoint(runDir, checkpoint(6));
    await truncate(join(dir2, 'optimizer.safetensors'), 10);
    await expect(loadTrainingCheckpoint(dir2)).rejects.toThrow(
      /optimizer\.safetensors has 10 bytes but the manifest says \d+ \(truncated\?\)/,
    );

    const dir3 = await saveTrainingCheckpoint(runDir, checkpoint(7));
    await rm(join(dir3, 'state.json'));
    await expect(loadTrainingCheckpoint(dir3)).rejects.toThrow(/cannot read state\.json listed in the manifest/);
    await rm(join(dir3, 'manifest.json'));
    await expect(loadTrainingCheckpoint(dir3)).rejects.toThrow(/cannot read manifest\.json/);
  });

  it('fall back to the newest loadable checkpoint when the latest is corrupted', async () => {
    await saveTrainingCheckpoint(runDir, checkpoint(1));
    const second = await saveTrainingCheckpoint(runDir, checkpoint(2));
    await truncate(join(second, 'state.json'), 3);
    const skipped: string[] = [];
    const loaded = await loadLatestTrainingCheckpoint(runDir, (dir, e) =>
      skipped.push(`${basename(dir)}: ${e.message}`),
    );
    expect(loaded!.step).toBe(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^step-000002: .*state\.json has 3 bytes/);
    expect(await loadLatestTrainingCheckpoint(join(runDir, 'nothing'))).toBeNull();
  });

  it('keep the last N and the best by validation loss, and find the latest', async () => {
    const losses = [5, 3, 1.5, 2, 2.5, 4, 3.5];
    for (let i = 0; i < losses.length; i++) {
      await saveTrainingCheckpoint(runDir, checkpoint((i + 1) * 10, losses[i]), { keepLast: 2 });
    }
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([30, 60, 70]);
    expect(await latestCheckpoint(runDir)).toBe(join(runDir, 'checkpoints', 'step-000070'));
    await saveTrainingCheckpoint(runDir, checkpoint(80, 1), { keepLast: 1, keepBest: false });
    expect((await listCheckpoints(runDir)).map((c) => c.step)).toEqual([80]);
  });

  it('ignore and clean up temp directories of crashed saves; no checkpoint means null', async () => {
    expect(await latestCheckpoint(runDir)).toBeNull();
    const stale = join(runDir, 'checkpoints', '.step-000900.999999.abcd1234.tmp');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'model.safetensors'), 'partial');
    expect(await latestCheckpoint(runDir)).toBeNull();
    await saveTrainingCheckpoint(runDir, checkpoint(1));
    expect(await readdir(join(runDir, 'checkpoints'))).toEqual(['step-000001']);
  });

  it('write nothing when reading a tensor fails', async () => {
    const bad = checkpoint(3);
    bad.model = {
      broken: { shape: [1], dtype: 'float32', data: async () => Promise.reject(new Error('device lost')) },
    };
    await expect(saveTrainingCheckpoint(runDir, bad)).rejects.toThrow(/device lost/);
    expect(await listCheckpoints(runDir)).toEqual([]);
  });
});
