/** The chat page at `/` streams a reply from the API in headless Chromium. */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumHeadlessArgs } from '../chromium.js';
import { type RunningServer, startServer } from './tiny-model.js';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`chat-page test skipped: no Chromium at ${CHROMIUM}`);

let s: RunningServer;
beforeAll(async () => {
  s = await startServer({ maxSlots: 2 });
});
afterAll(async () => {
  await s?.close();
});

describe.skipIf(!haveChromium)('chat page', () => {
  it('streams a reply equal to the API’s own answer', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: chromiumHeadlessArgs,
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${s.base}/`);
      await expect.poll(() => page.textContent('#model-name')).toBe('(tiny)');
      await page.fill('#temperature', '0');
      await page.fill('#max-tokens', '12');
      await page.fill('#input', 'Tell me about the dog.');
      // Hold decoding after the first token (which comes from the prefill): the page must already show it,
      // still streaming, before the rest is generated.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const engine = s.served.engine;
      // Decode steps (one token per sequence, after its prompt) wait at the gate; prefills go through.
      const step = engine.step.bind(engine);
      engine.step = async (chunks) => {
        if (chunks.every((c) => c.ids.length === 1 && c.start > 0)) await gate;
        return step(chunks);
      };
      await page.click('#send');
      await page.waitForSelector('.assistant[data-state="streaming"]');
      await expect.poll(async () => ((await page.textContent('.assistant')) ?? '').length).toBeGreaterThan(0);
      const partial = await page.textContent('.assistant');
      open();
      engine.step = step;
      await page.waitForSelector('.assistant[data-state="done"]', { timeout: 60_000 });
      const reply = await page.textContent('.assistant');
      const api = await s.client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'Tell me about the dog.' }],
        temperature: 0,
        max_tokens: 12,
      });
      expect(reply).toBe(api.choices[0]!.message.content);
      expect(reply!.startsWith(partial!)).toBe(true);
      expect(reply!.length).toBeGreaterThan(partial!.length);
      expect(reply!.length).toBeGreaterThan(0);
      const metrics = await (await fetch(`${s.base}/metrics`)).text();
      expect(metrics).toMatch(/andes_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} 2/);
    } finally {
      await browser.close();
    }
  });
});
