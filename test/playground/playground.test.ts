// The built playground (apps/playground/dist) in headless Chromium, at the WebGPU core and compatibility feature
// levels: the page loads and names its backend; greedy generation from the built-in model equals Node's for the same
// model and prompt; 20 training steps lower the loss; the trained model downloads as a zip that andes-serve loads and
// that generates in Node exactly as in the page; a model directory written by andes-train opens through the file
// input and generates as in Node, also in chat mode through its template; the Tokenize tab matches Node, with the
// model's tokenizer and with LLaMA 2's loaded from a file (where the fixture exists). A screenshot of each tab is written
// to apps/playground/test-results/.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, loadModelDir, saveModel } from '@andes/checkpoint';
import { generateIds, LlamaForCausalLM } from '@andes/nn';
import { loadServedModel } from '@andes/serve';
import { setBackend } from '@andes/tensor';
import { applyChatTemplate, loadTokenizer } from '@andes/tokenizer';
import { unzipSync } from 'fflate';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { builtinTokenizer, nanoModel } from '../../apps/playground/src/builtin-model.js';
import { CHROMIUM } from '../chromium.js';
import { runCli } from '../train/helpers.js';
import { chromiumArgs, type StaticServer, serveStatic } from './static-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'apps/playground/dist');
const shots = join(root, 'apps/playground/test-results');
const ready = existsSync(CHROMIUM) && existsSync(join(dist, 'index.html'));
if (!ready) console.warn(`playground tests skipped: need ${CHROMIUM} and a built ${dist} (npm run build)`);

const prompt = 'Once upon a time';
/**
 * How long the page may take for one piece of work. The first use of each kernel compiles its shader, and with a cold
 * Mesa shader cache (every fresh CI machine) a 2-vCPU Intel VM took 50–70 s for the first generation and 84–90+ s for
 * the first 20 training steps at the compatibility level, past the 60 s and 90 s these waits had; 5–20 s warm.
 */
const PAGE_WORK_MS = 300_000;
/** A test's budget: several pieces of page work each. */
const TEST_MS = 900_000;
vi.setConfig({ testTimeout: TEST_MS });
/** LLaMA 2's tokenizer.model, where the shared fixtures are (the worktree's or the main checkout's parent). */
const llama2Tokenizer = [
  join(root, '../shared/fixtures/llama2-tokenizer.model'),
  join(root, '../../shared/fixtures/llama2-tokenizer.model'),
].find(existsSync);
const tmp = mkdtempSync(join(tmpdir(), 'andes-playground-'));
let server: StaticServer;
let browser: Browser;
let trainedDir: string;

/** Node's greedy continuation of `prompt` (CPU backend, float32). */
async function nodeGreedy(model: LlamaForCausalLM, tokenizer: { encode(t: string, o: { bos: boolean }): number[] }) {
  return generateIds(model, tokenizer.encode(prompt, { bos: true }), { maxNewTokens: 12, temperature: 0 });
}

/** Generates greedily in the page from the model in use; returns the generated ids. */
async function pageGreedy(page: Page): Promise<number[]> {
  await page.click('#tab-generate');
  await page.fill('#prompt', prompt);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '12');
  await page.click('#generate');
  await page.waitForSelector('#output[data-state="done"]', { timeout: PAGE_WORK_MS });
  const ids = JSON.parse((await page.getAttribute('#output', 'data-ids')) ?? '[]') as number[];
  expect(await page.textContent('#model-error')).toBe('');
  return ids;
}

/** A fresh model with a loaded directory's weights. */
function model2(loaded: Awaited<ReturnType<typeof loadModelDir>>): LlamaForCausalLM {
  const model = new LlamaForCausalLM(loaded.config);
  model.loadStateDict(loaded.tensors);
  return model;
}

beforeAll(async () => {
  if (!ready) return;
  await setBackend('cpu');
  mkdirSync(shots, { recursive: true });
  server = await serveStatic(dist);
  browser = await chromium.launch({ executablePath: CHROMIUM, ignoreDefaultArgs: ['--headless'], args: chromiumArgs });
  // A model directory exactly as a user's `andes-train pretrain` writes it (tiny and short, on the CPU).
  const config = join(tmp, 'train.json');
  writeFileSync(
    config,
    JSON.stringify({
      preset: 'nano',
      model: { num_hidden_layers: 1 },
      vocabSize: 300,
      tokenizerBytes: 20_000,
      batchSize: 2,
      seqLen: 16,
      lr: 3e-3,
      warmupSteps: 1,
      steps: 3,
      evalInterval: 0,
      sampleTokens: 2,
      prompts: ['Once'],
      checkpointInterval: 0,
      outDir: join(tmp, 'run'),
      seed: 3,
      backend: 'cpu',
    }),
  );
  const run = runCli(['pretrain', '--config', config]);
  if (run.status !== 0) throw new Error(`andes-train pretrain failed: ${run.stderr}`);
  trainedDir = join(tmp, 'run', 'model');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!ready).each(['compatibility', 'core'] as const)('playground at the %s feature level', (level) => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage({ acceptDownloads: true });
    page.on('pageerror', (e) => console.error(`[page ${level}] ${e.message}`));
  });
  afterAll(async () => page?.close());

  it('loads, names its backend and the built-in model, and generates greedily exactly as Node does', async () => {
    await page.goto(`${server.base}/?level=${level}`);
    await page.waitForSelector('#model-name[data-ready="true"]', { timeout: PAGE_WORK_MS });
    const status = (await page.textContent('#backend-status')) ?? '';
    expect(status).toMatch(/^(WebGPU \(.+ feature level\)|CPU backend)/);
    if (process.env.ANDES_REQUIRE_WEBGPU === '1') expect(status).toContain(`WebGPU (${level} feature level)`);
    expect(await page.textContent('#model-note')).toContain('untrained');
    for (const name of ['Generate', 'Train', 'Tokenize'])
      expect(await page.textContent(`[role="tab"]:text-is("${name}")`)).toBe(name);

    const tokenizer = await builtinTokenizer();
    const model = nanoModel(tokenizer);
    const expected = await nodeGreedy(model, tokenizer);
    model.dispose();
    expect(expected).toHaveLength(12);
    expect(await pageGreedy(page)).toEqual(expected);
    expect(await page.textContent('#gen-stats')).toMatch(/tokens\/s/);
    await page.screenshot({ path: join(shots, `${level}-generate.png`), fullPage: true });
  });

  it('20 training steps lower the loss; the download is a model directory andes-serve loads, generating as the page', async () => {
    await page.click('#tab-train');
    await page.fill('#train-steps', '20');
    await page.fill('#sample-every', '10');
    await page.fill('#train-batch', '4');
    await page.fill('#train-seq', '32');
    await page.fill('#train-lr', '0.01');
    await page.click('#train-start');
    await page.waitForSelector('#loss-chart[data-state="done"]', { timeout: PAGE_WORK_MS });
    const losses = JSON.parse((await page.getAttribute('#loss-chart', 'data-losses')) ?? '[]') as number[];
    expect(losses).toHaveLength(20);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.3);
    expect(await page.locator('#samples li').count()).toBe(2);
    expect(await page.textContent('#train-stats')).toMatch(/tokens\/s/);
    await page.screenshot({ path: join(shots, `${level}-train.png`), fullPage: true });

    const download = page.waitForEvent('download');
    await page.click('#train-download');
    const zipPath = join(tmp, `${level}.zip`);
    await (await download).saveAs(zipPath);
    const dir = join(tmp, `${level}-unzipped`);
    for (const [name, bytes] of Object.entries(unzipSync(readFileSync(zipPath)))) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    const modelDir = join(dir, 'andes-nano-model');
    expect(readdirSync(modelDir).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer.model',
      'tokenizer_config.json',
    ]);
    const served = await loadServedModel(modelDir, { id: 'nano', maxSlots: 1 });
    expect(served.id).toBe('nano');
    const loaded = await loadModelDir(modelDir);
    const trained = new LlamaForCausalLM(loaded.config);
    trained.loadStateDict(loaded.tensors);
    const expected = await nodeGreedy(trained, loaded.tokenizer!);
    trained.dispose();
    await page.click('#train-use');
    expect(await pageGreedy(page)).toEqual(expected);
  });

  it('opens a model directory written by andes-train through the file input and generates as Node does', async () => {
    await page.click('#tab-generate');
    const files = readdirSync(trainedDir).map((f) => join(trainedDir, f));
    await page.setInputFiles('#model-files', files);
    await page.waitForSelector('#model-note:has-text("opened from disk")', { timeout: PAGE_WORK_MS });
    expect(await page.textContent('#model-name')).toBe('model');
    const loaded = await loadModelDir(trainedDir);
    const model = model2(loaded);
    const expected = await nodeGreedy(model, loaded.tokenizer!);
    model.dispose();
    expect(await pageGreedy(page)).toEqual(expected);

    // Chat mode: the prompt goes through the model's chat template (llama-2 when the directory names none).
    await page.check('#chat-mode');
    const chatPrompt = applyChatTemplate(
      loaded.tokenizer!,
      [{ role: 'user', content: prompt }],
      loaded.chatTemplate ?? 'llama-2',
    );
    const chatModel = model2(loaded);
    const chatExpected = await generateIds(chatModel, chatPrompt, { maxNewTokens: 12, temperature: 0 });
    chatModel.dispose();
    expect(await pageGreedy(page)).toEqual(chatExpected);
    await page.uncheck('#chat-mode');

    // Tokenize with the opened model's tokenizer: pieces and ids as in Node.
    await page.click('#tab-tokenize');
    const text = 'The cat saw 12 dogs.';
    await page.fill('#tok-text', text);
    await page.dispatchEvent('#tok-text', 'input');
    expect(JSON.parse((await page.textContent('#tok-ids')) ?? '[]')).toEqual(
      loaded.tokenizer!.encode(text, { bos: true }),
    );
    await page.screenshot({ path: join(shots, `${level}-tokenize.png`), fullPage: true });

    // LLaMA 2's tokenizer from a file, where the fixture exists.
    if (llama2Tokenizer) {
      await page.setInputFiles('#tok-file', llama2Tokenizer);
      await page.waitForSelector('#tok-name:has-text("llama2-tokenizer.model")');
      const llama2 = await loadTokenizer(llama2Tokenizer);
      expect(JSON.parse((await page.textContent('#tok-ids')) ?? '[]')).toEqual(llama2.encode(text, { bos: true }));
    }
  });

  it('opens a .gguf, and a llama2.c .bin picked with its tokenizer.bin, generating as Node does from the same file', async () => {
    await page.click('#tab-generate');
    const source = await loadModelDir(trainedDir);
    const gguf = join(tmp, `${level}.q8_0.gguf`);
    const bin = join(tmp, level, 'model.bin');
    mkdirSync(dirname(bin), { recursive: true });
    const options = { config: source.config, stateDict: source.tensors, tokenizer: source.tokenizer };
    await saveModel(gguf, { ...options, dtype: 'q8_0' });
    await saveModel(bin, options); // writes tokenizer.bin beside it
    for (const [files, name] of [
      [[gguf], `${level}.q8_0.gguf`],
      [[bin, join(dirname(bin), 'tokenizer.bin')], 'model.bin'],
    ] as const) {
      await page.setInputFiles('#model-files', [...files]);
      await page.waitForFunction((n) => document.querySelector('#model-name')?.textContent === n, name, {
        timeout: PAGE_WORK_MS,
      });
      const loaded = await loadModel(files[0]);
      const model = model2({ ...loaded, rawConfig: {} });
      const expected = await nodeGreedy(model, loaded.tokenizer!);
      model.dispose();
      expect(await pageGreedy(page)).toEqual(expected);
    }
  });
});
