/**
 * Server-sent events on a hijacked Fastify reply: `data: <json>\n\n` per chunk, `data: [DONE]` at the end, and a
 * callback when the client goes away before the end (so its generation can be cancelled).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';

/**
 * The `data:` event of a streamed completion chunk, `{ ...base, choices: [choice] }` with `usage: null` after the
 * choices when the client asked for a usage chunk, as `JSON.stringify` writes that object. The parts around the choice
 * are serialized once per response, and per token only the choice is (building and serializing the whole object per
 * token took ~7 % of the main thread's CPU at 16 streaming clients).
 */
export class ChunkEvents {
  private readonly head: string;
  private readonly tail: string;

  /** `base`: the fields before `choices` (id, object, created, model, …), at least one. */
  constructor(base: Readonly<Record<string, unknown>>, includeUsage: boolean) {
    const fields = JSON.stringify(base);
    if (fields === '{}') throw new Error('ChunkEvents: base needs at least one field');
    this.head = `data: ${fields.slice(0, -1)},"choices":[`;
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  /** The event text of a chunk holding `choice`. */
  event(choice: unknown): string {
    return this.head + JSON.stringify(choice) + this.tail;
  }
}

/** An open SSE response. */
export class SseStream {
  private ended = false;
  /** Writes are held until the end of this tick (see {@link SseStream.write}). */
  private corked = false;

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
    if (!this.closed) this.write(`data: ${JSON.stringify(obj)}\n\n`);
  }

  /** Sends a chunk holding `choice` (see {@link ChunkEvents}). */
  sendChoice(events: ChunkEvents, choice: unknown): void {
    if (!this.closed) this.write(events.event(choice));
  }

  /**
   * Writes `text` with the other events of this tick: the socket is corked at the first and uncorked on the next
   * tick (`end` flushes at once). Why: a response's last token, its finish reason, the usage chunk and `[DONE]` come
   * in one tick, and each write of its own was a system call (~15–30 µs on loopback, the largest part of the HTTP
   * thread's time per token at 16 streaming clients); one write per step and stream stays one.
   */
  private write(text: string): void {
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    this.res.write(text);
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
