/**
 * Issue 10, item 3: three chat turns through the page in headless Chromium against a base model with a 128-token
 * context all succeed — the page trims the oldest turns to fit (with a note), says what the model is, sends on
 * Enter (Shift+Enter is a newline), drops a failed turn from the history, and starts over on "New chat".
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModelDir } from '@andes/checkpoint';
import { LlamaForCausalLM, llamaConfig } from '@andes/nn';
import { type AndesServer, createServer, loadServedModel, type ServedModel } from '@andes/serve';
import { setBackend } from '@andes/tensor';
import { trainBpe } from '@andes/tokenizer';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumHeadlessArgs } from '../chromium.js';
import { trainingText } from '../serve/tiny-model.js';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`first-hour chat-page test skipped: no Chromium at ${CHROMIUM}`);

const CONTEXT = 128;
const MAX_TOKENS = 40;

let server: AndesServer;
let served: ServedModel;
let base: string;
let browser: Browser;
/** Bodies of every /v1/chat/completions request the page sent, in order. */
const sent: { messages: { role: string; content: string }[]; max_tokens: number }[] = [];

beforeAll(async () => {
  await setBackend('cpu');
  // A base model as `andes-train` saves one: no chat template in tokenizer_config.json, 128 positions.
  const tokenizer = await trainBpe(trainingText(), { vocabSize: 400 });
  const config = llamaConfig({
    vocab_size: tokenizer.vocabSize,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: CONTEXT,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
  });
  const model = new LlamaForCausalLM(config, { seed: 5 });
  const dir = join(await mkdtemp(join(tmpdir(), 'andes-first-hour-chat-')), 'model');
  await saveModelDir(dir, { config, model, tokenizer });
  model.dispose();
  served = await loadServedModel(dir, { id: 'story-base', maxSlots: 2 });
  server = createServer({ load: async () => served });
  base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  await server.loaded;
  if (haveChromium)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: chromiumHeadlessArgs,
    });
});
afterAll(async () => {
  await browser?.close();
  await server?.shutdown(200);
});

/** Types `text` and presses Enter, then waits for the new reply to finish; returns its state. */
async function say(page: Page, text: string): Promise<string> {
  const before = await page.locator('.msg.user').count();
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await expect.poll(() => page.locator('.msg.user').count()).toBe(before + 1);
  const reply = page.locator('#messages > .msg:not(.user):not(.note)').last();
  await expect.poll(() => reply.getAttribute('data-state'), { timeout: 60_000 }).toMatch(/done|error/);
  return (await reply.getAttribute('data-state'))!;
}

/** Prompt tokens of a request as the server renders it (its own template and tokenizer: the reference count). */
function promptTokens(messages: { role: string; content: string }[]): number {
  return served.renderChat(messages as Parameters<ServedModel['renderChat']>[0]).length;
}

describe.skipIf(!haveChromium)('the chat page on a base model with a 128-token context', () => {
  it('says what the model is, keeps three turns inside the context, and handles failure and new chats', async () => {
    // The model card says what the page needs: the context length and that no chat template is declared.
    const card = ((await (await fetch(`${base}/v1/models`)).json()) as { data: Record<string, unknown>[] }).data[0]!;
    expect(card).toMatchObject({ id: 'story-base', max_model_len: CONTEXT, chat_template: null });
    const page = await browser.newPage();
    page.on('request', (request) => {
      if (request.url().endsWith('/v1/chat/completions') && request.method() === 'POST')
        sent.push(JSON.parse(request.postData() ?? '{}'));
    });
    await page.goto(`${base}/`);
    await expect.poll(() => page.textContent('#model-name')).toBe('(story-base)');
    expect(await page.getAttribute('#model-info', 'data-kind')).toBe('base');
    expect(await page.textContent('#model-info')).toMatch(/base model.*continue text.*Context: 128 tokens/s);
    // The default reply length leaves room for a conversation: at most half the context.
    expect(Number(await page.inputValue('#max-tokens'))).toBeLessThanOrEqual(CONTEXT / 2);
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', String(MAX_TOKENS));

    // Shift+Enter is a newline, not a send.
    await page.fill('#input', 'Once upon a time there was a little girl named Lily.');
    await page.press('#input', 'Shift+Enter');
    await page.type('#input', 'She liked to play in the park with her red ball.');
    expect(await page.inputValue('#input')).toContain('\n');
    expect(await page.locator('.msg.user').count()).toBe(0);
    await page.press('#input', 'Enter');
    await expect.poll(() => page.locator('.msg.user').count()).toBe(1);
    await expect
      .poll(() => page.locator('.assistant').first().getAttribute('data-state'), { timeout: 60_000 })
      .toBe('done');

    expect(await say(page, 'One day the sun was hot and the sky was blue. Lily saw a big dog in the park.')).toBe(
      'done',
    );
    expect(await say(page, 'The dog was friendly and wagged its tail. They played together until the moon came.')).toBe(
      'done',
    );
    expect(await page.locator('.msg.error').count()).toBe(0);
    expect(sent).toHaveLength(3);
    // Every request fits: prompt + max_tokens within the context, by the server's own count.
    for (const body of sent) expect(promptTokens(body.messages) + body.max_tokens).toBeLessThanOrEqual(CONTEXT);
    // Three turns of this length do not fit whole: the oldest was dropped, visibly, and the latest message is last.
    expect(sent[2]!.messages.length).toBeLessThan(5);
    expect(await page.locator('.msg.note').count()).toBeGreaterThan(0);
    expect(await page.locator('.msg.note').first().textContent()).toMatch(/Dropped the oldest turn.*128-token context/);
    expect(await page.locator('.msg.dropped').count()).toBeGreaterThan(0);
    expect(sent[2]!.messages.at(-1)!.content).toMatch(/^The dog was friendly/);

    // A failed turn stays out of the history.
    await page.route('**/v1/chat/completions', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: { message: 'simulated failure', type: 'server_error' } }),
      }),
    );
    expect(await say(page, 'This message fails.')).toBe('error');
    await page.unrouteAll();
    expect(await page.locator('.msg.error').textContent()).toBe('simulated failure');
    expect(await say(page, 'Then Lily went home.')).toBe('done');
    const afterFailure = sent.at(-1)!.messages.map((m) => m.content);
    expect(afterFailure).not.toContain('This message fails.');
    expect(afterFailure.at(-1)).toBe('Then Lily went home.');

    // New chat: an empty page and a request with only the new message.
    await page.click('#new-chat');
    expect(await page.locator('#messages > *').count()).toBe(0);
    expect(await say(page, 'Tom had a small boat.')).toBe('done');
    expect(sent.at(-1)!.messages).toEqual([{ role: 'user', content: 'Tom had a small boat.' }]);
    await page.close();
  });
});
