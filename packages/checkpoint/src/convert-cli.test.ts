import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaForCausalLM } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import type { SentencePieceTokenizer } from '@andes/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logitsOf, tinyModel, tinyTokenizer } from '../test/tiny-model.js';
import { main } from './convert-cli.js';
import { loadModel } from './load-model.js';
import { saveModelDir } from './model-dir.js';

let dir: string;
let tokenizer: SentencePieceTokenizer;
let model: LlamaForCausalLM;
let hf: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-convert-'));
  tokenizer = await tinyTokenizer();
  model = tinyModel(tokenizer.vocabSize);
  hf = join(dir, 'hf');
  await saveModelDir(hf, { config: model.config, model, tokenizer, chatTemplate: 'chatml' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const ids = [1, 17, 42, 99, 5, 260];

describe('andes-convert', () => {
  it('HF → GGUF → llama2.c → HF in f32 keeps the logits exactly; --verify reports 0', async () => {
    const gguf = join(dir, 'm.gguf');
    const bin = join(dir, 'c', 'model.bin');
    const back = join(dir, 'back');
    const a = await cli(hf, gguf, '--verify');
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/\(Hugging Face directory\) → .*m\.gguf \(GGUF, f32\): 21 tensors/);
    expect(a.out).toMatch(/verify: max \|logit difference\| 0\.000e\+0 over \d+ prompt tokens \(cpu backend\)/);
    expect((await cli(gguf, bin)).code).toBe(0);
    expect((await cli(bin, back)).code).toBe(0);
    const loaded = await loadModel(back);
    const copy = new LlamaForCausalLM(loaded.config);
    copy.loadStateDict(loaded.tensors);
    expect(await logitsOf(copy, ids)).toEqual(await logitsOf(model, ids));
    expect(Array.from(loaded.tokenizer!.encode('the robot and the birds'))).toEqual(
      Array.from(tokenizer.encode('the robot and the birds')),
    );
  });

  it('--dtype q4_0 --verify prints a non-zero difference; --dtype applies at load too', async () => {
    const path = join(dir, 'm.q4_0.gguf');
    const r = await cli(hf, path, '--dtype', 'q4_0', '--verify');
    expect(r.code, r.err).toBe(0);
    const diff = Number(/max \|logit difference\| (\S+)/.exec(r.out)![1]);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1);
    // Loading the f32 directory rounded to q4_0 gives exactly the q4_0 file's weights.
    const rounded = await loadModel(hf, { dtype: 'q4_0' });
    const file = await loadModel(path);
    for (const [name, t] of file.tensors) expect(rounded.tensors.get(name)!.data, name).toEqual(t.data);
  });

  it('user errors are one line: what went wrong and what to do, exit code non-zero, no stack trace', async () => {
    const missing = await cli(join(dir, 'nope.gguf'), join(dir, 'x.gguf'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /^andes-convert: cannot read .*nope\.gguf: no such file or directory \(check the path\)$/,
    );
    const badDtype = await cli(hf, join(dir, 'x.gguf'), '--dtype', 'q5_k');
    expect(badDtype.code).toBe(2);
    expect(badDtype.err).toMatch(/^andes-convert: .*q5_k.* \(see andes-convert --help\)$/);
    const bin = await cli(hf, join(dir, 'y', 'model.bin'), '--dtype', 'f16');
    expect(bin.err).toMatch(/^andes-convert: saveLlama2cModel .*llama2.c stores f32 .* not f16 \(/);
    await writeFile(join(dir, 'junk.gguf'), 'not a model at all');
    const junk = await cli(join(dir, 'junk.gguf'), join(dir, 'z'));
    expect(junk.err).toMatch(/^andes-convert: .*junk\.gguf: not a GGUF file/);
    expect(junk.err).not.toMatch(/\n\s+at /);
  });

  it('the bin shim runs the built CLI', () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'andes-convert.js');
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: andes-convert \[options\] <input> <output>/);
  });
});
