// A minimal static file server for built sites (the playground's dist/, the docs site) in tests and benches:
// GET only, paths confined to the root folder, content types for the files Vite and typedoc emit.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

/** A running server and how to stop it. */
export interface StaticServer {
  base: string;
  close(): Promise<void>;
}

/** Serves `root` on a free localhost port. */
export async function serveStatic(root: string): Promise<StaticServer> {
  const top = resolve(root);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = normalize(join(top, decodeURIComponent(url.pathname)));
    if (!path.startsWith(top)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Chromium's flags for WebGPU on lavapipe (the one list, in test/chromium.ts). */
export { chromiumWebGpuArgs as chromiumArgs } from '../chromium.js';
