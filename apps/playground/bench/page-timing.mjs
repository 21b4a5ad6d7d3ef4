#!/usr/bin/env node
// Measures the built playground (dist/) in headless Chromium: first paint and first contentful paint (the browser's
// paint timing), the time until the built-in model is ready, and the time to the first generated token for the
// built-in model (greedy, from the click on Generate; measured in the page). Each level runs `RUNS` fresh pages
// (default 3) and reports the median. Usage: npm run build && npm run bench -w @andes/playground
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist}index.html is missing: run npm run build first`);
const runs = Number(process.env.RUNS ?? 3);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => {
  let path = normalize(join(dist, new URL(req.url ?? '/', 'http://x').pathname));
  if (path.endsWith('/')) path += 'index.html';
  if (!path.startsWith(dist) || !existsSync(path)) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  ignoreDefaultArgs: ['--headless'],
  args: [
    '--headless=new',
    '--use-angle=vulkan',
    '--use-webgpu-adapter=opengles',
    '--enable-unsafe-webgpu',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}; load average ${loadavg()[0].toFixed(1)}; ${runs} runs each`,
);
console.log('| level | first paint ms | first contentful paint ms | model ready ms | first token ms | backend |');
console.log('| --- | ---: | ---: | ---: | ---: | --- |');
for (const level of ['compatibility', 'core', 'cpu']) {
  const rows = [];
  let backend = '';
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage();
    const started = Date.now();
    await page.goto(`${base}/?${level === 'cpu' ? 'backend=cpu' : `level=${level}`}`);
    await page.waitForSelector('#model-name[data-ready="true"]', { timeout: 120_000 });
    const ready = Date.now() - started;
    const paint = await page.evaluate(() =>
      Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime])),
    );
    backend = (await page.textContent('#backend-status')) ?? '';
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '8');
    await page.click('#generate');
    await page.waitForSelector('#output[data-state="done"]', { timeout: 120_000 });
    const firstToken = Number(await page.getAttribute('#output', 'data-first-token-ms'));
    rows.push([paint['first-paint'], paint['first-contentful-paint'], ready, firstToken]);
    await page.close();
  }
  const cols = [0, 1, 2, 3].map((c) => median(rows.map((r) => r[c])).toFixed(0));
  console.log(`| ${level} | ${cols.join(' | ')} | ${backend} |`);
}
await browser.close();
server.close();
