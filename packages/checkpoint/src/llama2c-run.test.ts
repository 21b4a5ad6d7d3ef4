// llama2.c itself runs the files Andes writes: run.c (legacy v0 float32) and runq.c (version 2 int8) are compiled
// from a llama2.c checkout named by ANDES_LLAMA2C_DIR (nothing of llama2.c is vendored) and must print the same
// greedy text as Andes. Skipped when the variable or a C compiler is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaForCausalLM } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyTokens, tinyModel, tinyTokenizer } from '../test/tiny-model.js';
import { loadLlama2cModel, saveLlama2cModel } from './llama2c-model.js';

const source = process.env.ANDES_LLAMA2C_DIR;
const ready =
  source !== undefined &&
  existsSync(join(source, 'run.c')) &&
  spawnSync('cc', ['--version'], { encoding: 'utf8' }).status === 0;
if (!ready) console.warn('[skip] set ANDES_LLAMA2C_DIR to a llama2.c checkout (and have cc) to run run.c/runq.c');

/** What run.c prints for tokens 1.. of a sequence: pieces with ▁ as spaces, the space after BOS dropped, <0xXX> as bytes. */
function runCText(tokenizer: { idToPiece(id: number): string }, ids: number[]): string {
  let out = '';
  for (let i = 1; i < ids.length; i++) {
    let piece = tokenizer.idToPiece(ids[i]!).replaceAll('▁', ' ');
    if (ids[i - 1] === 1 && piece.startsWith(' ')) piece = piece.slice(1);
    const byte = /^<0x([0-9A-F]{2})>$/.exec(piece);
    if (byte) {
      const b = Number.parseInt(byte[1]!, 16);
      piece =
        b >= 0x20 && b < 0x7f
          ? String.fromCharCode(b)
          : /\s/.test(String.fromCharCode(b))
            ? String.fromCharCode(b)
            : '';
    }
    out += piece;
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  await setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'andes-runc-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!ready)('llama2.c run.c / runq.c run Andes .bin files', () => {
  for (const [program, dtype] of [
    ['run', 'f32'],
    ['runq', 'q8_0'],
  ] as const) {
    it(`${program}.c prints the same greedy continuation as Andes (${dtype})`, async () => {
      const exe = join(dir, program);
      const cc = spawnSync('cc', ['-O2', '-o', exe, join(source!, `${program}.c`), '-lm'], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const tokenizer = await tinyTokenizer();
      const model = tinyModel(tokenizer.vocabSize, { max_position_embeddings: 32 }, 2);
      const path = join(dir, dtype, 'model.bin');
      await saveLlama2cModel(path, { config: model.config, model, tokenizer, dtype });
      const loaded = await loadLlama2cModel(path); // Andes on the same stored weights
      const copy = new LlamaForCausalLM(loaded.config);
      copy.loadStateDict(loaded.tensors);
      const text = 'The robot';
      const prompt = Array.from(tokenizer.encode(text, { bos: true }));
      const steps = prompt.length + 7; // run.c prints tokens 1..steps of prompt + continuation: 8 generated
      const { tokens, minMargin } = await greedyTokens(copy, prompt, 8);
      expect(minMargin).toBeGreaterThan(1e-3);
      const stop = tokens.indexOf(tokenizer.bosId); // run.c stops at BOS
      const want = runCText(tokenizer, [...prompt, ...(stop >= 0 ? tokens.slice(0, stop) : tokens)]);
      const args = [path, '-z', join(dir, dtype, 'tokenizer.bin'), '-t', '0', '-n', String(steps), '-i', text];
      const run = spawnSync(exe, args, { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      if (dtype === 'f32') expect(run.stdout.trimEnd()).toBe(want.trimEnd());
      else {
        // runq.c also rounds activations to int8 groups, which flips the later near-ties of a random tiny model:
        // the file layout is right when its first two tokens agree (a wrong layout prints <unk> from the start).
        expect(run.stdout.startsWith(runCText(tokenizer, [...prompt, ...tokens.slice(0, 2)]))).toBe(true);
      }
    });
  }
});
