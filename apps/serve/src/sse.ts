/**
 * Server-sent events on a hijacked Fastify reply: `data: <json>\n\n` per chunk, `data: [DONE]` at the end, and a
 * callback when the client goes away before the end (so its generation can be cancelled).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';

/** An open SSE response. */
export class SseStream {
  private ended = false;

  /** Writes the status line and headers at once, so clients see the stream open before the first token. */
  constructor(
    private readonly res: ServerResponse,
    onDisconnect: () => void,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    res.on('close', () => {
      if (!this.ended) {
        this.ended = true;
        onDisconnect();
      }
    });
  }

  /** True once ended or disconnected. */
  get closed(): boolean {
    return this.ended || this.res.destroyed;
  }

  /** Sends one `data:` event with `obj` as JSON. */
  send(obj: unknown): void {
    if (!this.closed) this.res.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  done(): void {
    if (this.closed) return;
    this.ended = true;
    this.res.end('data: [DONE]\n\n');
  }
}
