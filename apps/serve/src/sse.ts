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

  /**
   * Ends a completion stream the way both OpenAI endpoints do: an OpenAI-style error event if generation failed or
   * was cancelled, else the usage chunk (when the client asked for one), then `[DONE]`.
   */
  finish(outcome: { error?: Error; cancelled: boolean }, usageChunk?: () => unknown): void {
    if (outcome.error || outcome.cancelled) {
      const err = outcome.error ?? new Error('generation was cancelled (server shutting down)');
      this.send({ error: { message: err.message, type: 'server_error', param: null, code: null } });
    } else if (usageChunk) this.send(usageChunk());
    this.done();
  }

  /** Sends `data: [DONE]` and ends the response. */
  done(): void {
    if (this.closed) return;
    this.ended = true;
    this.res.end('data: [DONE]\n\n');
  }
}
