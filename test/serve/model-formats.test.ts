// andes-serve, andes-eval and andes-train sample load GGUF files and llama2.c .bin files through
// @andes/checkpoint's loadModel, and andes-serve --dry-run prints the memory per dtype.
import { spawn, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { GgufFile, loadModel, saveGgufModel, saveLlama2cModel } from '@andes/checkpoint';
import { LocalModel } from '@andes/eval';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { loadServedModel } from '@andes/serve';
import { noGrad, tensor } from '@andes/tensor';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { tinyModel } from './tiny-model.js';

async function logits(model: LlamaForCausalLM, ids: number[]): Promise<Float32Array> {
  return noGrad(async () => {
    const input = tensor(new Int32Array(ids), [1, ids.length], { dtype: 'int32' });
    const out = model.forward(input);
    const values = Float32Array.from((await out.data()) as Float32Array);
    out.dispose();
    input.dispose();
    return values;
  });
}

let gguf: string;
let bin: string;
let dir: string;
let binWarnings: string[];
beforeAll(async () => {
  const tiny = await tinyModel();
  dir = tiny.dir;
  gguf = join(dir, 'model.q8_0.gguf');
  bin = join(dir, 'llama2c', 'model.bin');
  await saveGgufModel(gguf, { config: tiny.model.config, model: tiny.model, tokenizer: tiny.tokenizer, dtype: 'q8_0' });
  binWarnings = await saveLlama2cModel(bin, {
    config: tiny.model.config,
    model: tiny.model,
    tokenizer: tiny.tokenizer,
  });
});

describe('apps load every model format', () => {
  it('andes-serve: a llama2.c .bin serves the same logits as the directory; a GGUF keeps its Q8_0 blocks; --dtype rounds at load', async () => {
    const tiny = await tinyModel();
    const ids = [tiny.tokenizer.bosId, ...tiny.tokenizer.encode('Lily saw a big dog')];
    const fromBin = await loadServedModel(bin, { id: 'bin', maxSlots: 1 });
    // llama2.c has no epsilon field (run.c uses 1e-5; the warning said so): compare with the same weights at 1e-5.
    expect(binWarnings).toEqual([expect.stringMatching(/run\.c uses 1e-5/)]);
    const same = await loadModel(dir);
    const reference = new LlamaForCausalLM(llamaConfig({ ...same.config, rms_norm_eps: 1e-5 }));
    reference.loadStateDict(same.tensors);
    expect(await logits((fromBin.engine as unknown as { model: LlamaForCausalLM }).model, ids)).toEqual(
      await logits(reference, ids),
    );
    const fromGguf = await loadServedModel(gguf, { id: 'gguf', maxSlots: 1 });
    const asF32 = await loadServedModel(gguf, { id: 'gguf', maxSlots: 1, dtype: 'f32' });
    const rounded = await loadServedModel(dir, { id: 'dir', maxSlots: 1, dtype: 'q8_0' });
    const model = (s: typeof fromGguf) => (s.engine as unknown as { model: LlamaForCausalLM }).model;
    // By default the file's Q8_0 matrices stay Q8_0 in memory (as llama.cpp holds them); --dtype f32 dequantizes.
    const layer = (s: typeof fromGguf) => model(s).model.layers.at(0).selfAttn.qProj;
    expect(layer(fromGguf).blockWeight?.type).toBe('Q8_0');
    expect(layer(asF32).blockWeight).toBeNull();
    const want = await logits(model(rounded), ids);
    expect(await logits(model(asF32), ids)).toEqual(want);
    // Kept, the products round the activations to int8 per 32-block as llama.cpp does: within 3 % of the largest
    // logit of the same weights in float32 (gguf-keep.test.ts measures 0.9–1.2 % on such a model), not equal.
    const kept = await logits(model(fromGguf), ids);
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(Math.max(...kept.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(3e-2 * scale);
    expect(kept).not.toEqual(want);
    // An F16 file: on the CPU the default (auto) widens its halves to float32, where their products cost 2–3× more
    // per row; keep holds them as F16 (as WebGPU's default does).
    const f16 = join(dir, 'model.f16.gguf');
    await saveGgufModel(f16, { config: tiny.model.config, model: tiny.model, tokenizer: tiny.tokenizer, dtype: 'f16' });
    const auto = await loadServedModel(f16, { id: 'f16', maxSlots: 1 });
    const halves = await loadServedModel(f16, { id: 'f16', maxSlots: 1, dtype: 'keep' });
    expect(layer(auto).blockWeight).toBeNull();
    expect(layer(halves).blockWeight?.type).toBe('F16');
    const widened = await loadServedModel(f16, { id: 'f16', maxSlots: 1, dtype: 'f32' });
    expect(await logits(model(auto), ids)).toEqual(await logits(model(widened), ids));
    for (const s of [fromGguf, asF32, rounded, auto, halves, widened]) s.engine.dispose();
    expect(fromGguf.renderChat([{ role: 'user', content: 'hi' }]).length).toBeGreaterThan(2);
  });

  it('andes-serve with an engine worker: the main thread reads no weights; logits equal the in-process model', async () => {
    const tiny = await tinyModel();
    const ids = [tiny.tokenizer.bosId, ...tiny.tokenizer.encode('Tom had a small boat')];
    const probe = await open(gguf, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const header = await GgufFile.open(gguf);
    await header.close();
    // Where each format's weights start: a read at or past it on this thread would be a weight read.
    const dataStart = { [gguf]: header.header.dataOffset, [bin]: 28, [dir]: 0 };
    for (const path of [gguf, bin, dir]) {
      const inProcess = await loadServedModel(path, { id: 'm', maxSlots: 1 });
      const positions: number[] = [];
      const read = proto.read;
      const spy = vi.spyOn(proto, 'read').mockImplementation(async function (this: unknown, ...args: unknown[]) {
        positions.push(Number(args[3] ?? -1));
        return read.apply(this, args);
      });
      const inWorker = await loadServedModel(path, { id: 'm', maxSlots: 1, engineWorkers: 1 }).finally(() =>
        spy.mockRestore(),
      );
      try {
        expect(positions.filter((at) => at >= dataStart[path]! && !(path === gguf && at === 0))).toEqual([]);
        expect(inWorker.eosIds).toEqual(inProcess.eosIds);
        expect(inWorker.chatTemplate).toBe(inProcess.chatTemplate);
        expect(inWorker.renderChat([{ role: 'user', content: 'hi' }])).toEqual(
          inProcess.renderChat([{ role: 'user', content: 'hi' }]),
        );
        const [a] = await inWorker.engine.step([{ seq: 0, ids, start: 0 }]);
        const [b] = await inProcess.engine.step([{ seq: 0, ids, start: 0 }]);
        expect(a!.logits).toEqual(b!.logits);
      } finally {
        inWorker.engine.dispose();
        inProcess.engine.dispose();
      }
    }
  }, 60_000);

  it('andes-serve --kv-dtype f16 reaches an engine worker: its logits equal the in-process half cache’s', async () => {
    const tiny = await tinyModel();
    const ids = [tiny.tokenizer.bosId, ...tiny.tokenizer.encode('Tom had a small boat')];
    const half = await loadServedModel(gguf, { id: 'm', maxSlots: 1, kvDtype: 'float16' });
    const inWorker = await loadServedModel(gguf, { id: 'm', maxSlots: 1, kvDtype: 'float16', engineWorkers: 1 });
    const full = await loadServedModel(gguf, { id: 'm', maxSlots: 1 });
    try {
      // A prompt, then a decode that attends it through the cache.
      for (const [chunk, start] of [
        [ids, 0],
        [[7], ids.length],
      ] as const) {
        const [a] = await inWorker.engine.step([{ seq: 0, ids: [...chunk], start }]);
        const [b] = await half.engine.step([{ seq: 0, ids: [...chunk], start }]);
        const [c] = await full.engine.step([{ seq: 0, ids: [...chunk], start }]);
        expect(a!.logits).toEqual(b!.logits);
        if (start > 0) expect(a!.logits).not.toEqual(c!.logits);
      }
    } finally {
      for (const m of [half, inWorker, full]) m.engine.dispose();
    }
  }, 60_000);

  it('andes-eval: LocalModel.load reads a GGUF file, its Q8_0 blocks kept unless --dtype says otherwise', async () => {
    const lm = await LocalModel.load(gguf);
    expect(lm.maxLength).toBe(96);
    const qProj = (m: LocalModel) => (m.lm as LlamaForCausalLM).model.layers.at(0).selfAttn.qProj;
    expect(qProj(lm).blockWeight?.type).toBe('Q8_0');
    const asF32 = await LocalModel.load(gguf, { dtype: 'f32' });
    expect(qProj(asF32).blockWeight).toBeNull();
    const request = [{ context: 'Once upon a time', continuation: ' there was' }];
    const [[kept], [f32]] = await Promise.all([lm.loglikelihood(request), asF32.loglikelihood(request)]);
    expect(Number.isFinite(kept!.logprob)).toBe(true);
    // The kept blocks compute with int8 activations (as llama.cpp): close to the float32 score, not equal.
    expect(Math.abs(kept!.logprob - f32!.logprob)).toBeLessThan(0.05 * Math.abs(f32!.logprob) + 0.05);
    expect(kept!.logprob).not.toBe(f32!.logprob);
  });

  it('andes-serve --dry-run prints weights + KV per dtype (and the file as stored); the ready line says the same', async () => {
    const cli = join(import.meta.dirname, '..', '..', 'apps', 'serve', 'bin', 'andes-serve.js');
    const r = spawnSync(process.execPath, [cli, '--model', gguf, '--dry-run', '--max-batch', '2'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/KV cache for 2 slots × 96 positions/);
    for (const dtype of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${dtype} `));
    // The file's own types, as --dtype keep holds them: the q8_0 row's bytes (its norms F32 as in every row).
    const stored = /\n {2}stored +(\S+) MiB .*Q8_0 ×\d+, F32 ×\d+/.exec(r.stdout);
    expect(stored, r.stdout).not.toBeNull();
    const q8Row = Number(/\n {2}q8_0 +(\S+) MiB/.exec(r.stdout)?.[1]);
    expect(Number(stored![1])).toBeCloseTo(q8Row, 1);
    // The server's ready line says the same of the weights it holds.
    const server = spawn(process.execPath, [cli, '--model', gguf, '--port', '0', '--backend', 'cpu'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    try {
      await vi.waitFor(() => expect(out).toMatch(/model ready/), { timeout: 20_000, interval: 50 });
      expect(out).toMatch(/model ready \(.*; weights held as Q8_0 ×\d+, F32 ×\d+, [\d.]+ MiB\)/);
    } finally {
      server.kill('SIGTERM');
    }
    // --kv-dtype f16: the KV column halves (MiB, first row), and a type it does not know is refused.
    const kvOf = (out: string) => Number(/\n {2}f32 +\S+ MiB +(\S+) MiB/.exec(out)?.[1]);
    const half = spawnSync(
      process.execPath,
      [cli, '--model', gguf, '--dry-run', '--max-batch', '2', '--kv-dtype', 'f16'],
      {
        encoding: 'utf8',
      },
    );
    expect(half.status, half.stderr).toBe(0);
    expect(r.stdout).toMatch(/KV \(f32\)/);
    expect(half.stdout).toMatch(/KV \(f16\)/);
    expect(kvOf(half.stdout)).toBeCloseTo(kvOf(r.stdout) / 2, 1);
    const bad = spawnSync(process.execPath, [cli, '--model', gguf, '--dry-run', '--kv-dtype', 'q4_0'], {
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--kv-dtype must be one of f32, f16, bf16, got 'q4_0'/);
  }, 60_000);

  it('andes-train sample --model takes a .bin file', () => {
    const r = trainSample(bin);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('Lily')).toBe(true);
  });

  it('andes-train sample --model takes a GGUF (blocks kept by default) and names the --dtype choices', () => {
    const r = trainSample(gguf);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('Lily')).toBe(true);
    const bad = trainSample(gguf, '--dtype', 'q4_k');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--dtype: expected auto, keep, f32, f16, bf16, q8_0 or q4_0, got "q4_k"/);
  });
});

/** `andes-train sample --model <model>` on the CPU: 4 greedy tokens after "Lily", with `extra` flags. */
function trainSample(model: string, ...extra: string[]) {
  const cli = join(import.meta.dirname, '..', '..', 'apps', 'train', 'bin', 'andes-train.js');
  const args = [cli, 'sample', '--model', model, '--prompt', 'Lily', '--max-new-tokens', '4', '--temperature', '0'];
  return spawnSync(process.execPath, [...args, '--backend', 'cpu', ...extra], { encoding: 'utf8' });
}
