import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { mixSeed, seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { ChunkEvents, SseStream } from './sse.js';

/** Random strings that JSON must escape: quotes, backslashes, control characters, non-ASCII, lone surrogates. */
function randomText(rand: () => number): string {
  const alphabet = [
    'a',
    'Z',
    ' ',
    '"',
    '\\',
    '\n',
    '\t',
    '\u0001',
    '\u001f',
    'é',
    '✓',
    '😀',
    '\ud800',
    '\u2028',
    '/',
    '}',
  ];
  const length = Math.floor(rand() * 13);
  return Array.from({ length }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

describe('ChunkEvents', () => {
  it("writes each chunk's event as JSON.stringify of the whole object does, byte for byte", () => {
    for (let trial = 0; trial < 300; trial++) {
      const rand = seededUniform(mixSeed(31, trial));
      const includeUsage = rand() < 0.5;
      const base = {
        id: `cmpl-${randomText(rand)}`,
        object: rand() < 0.5 ? 'text_completion' : 'chat.completion.chunk',
        created: Math.floor(rand() * 2e9),
        model: randomText(rand),
        system_fingerprint: null,
      };
      const events = new ChunkEvents(base, includeUsage);
      for (let c = 0; c < 3; c++) {
        const text = randomText(rand);
        const choice =
          rand() < 0.5
            ? {
                index: c,
                text,
                logprobs: rand() < 0.5 ? null : { tokens: [text], token_logprobs: [-rand()] },
                finish_reason: null,
              }
            : {
                index: c,
                delta: rand() < 0.3 ? {} : { content: text },
                logprobs: null,
                finish_reason: rand() < 0.5 ? 'stop' : null,
              };
        const whole = { ...base, choices: [choice], ...(includeUsage ? { usage: null } : {}) };
        expect(events.event(choice)).toBe(`data: ${JSON.stringify(whole)}\n\n`);
      }
    }
  });

  it('refuses an empty base, which has no field to put the choices after', () => {
    expect(() => new ChunkEvents({}, false)).toThrow(/ChunkEvents: base needs at least one field/);
  });
});

/** A ServerResponse stand-in that logs what reaches the socket: text flushed at each uncork of the last cork, or end. */
class LoggedResponse extends EventEmitter {
  destroyed = false;
  /** What the socket would have been handed, one entry per system call. */
  readonly flushed: string[] = [];
  private corks = 0;
  private held = '';
  writeHead() {}
  flushHeaders() {}
  cork() {
    this.corks++;
  }
  uncork() {
    if (this.corks > 0 && --this.corks === 0) this.flush();
  }
  write(text: string) {
    this.held += text;
    if (this.corks === 0) this.flush();
    return true;
  }
  end(text: string) {
    this.held += text;
    this.corks = 0;
    this.flush();
  }
  private flush() {
    if (this.held) this.flushed.push(this.held);
    this.held = '';
  }
}

describe('SseStream', () => {
  it("hands the socket one write per tick: a step's token alone, a response's tail with [DONE]", async () => {
    const res = new LoggedResponse();
    const sse = new SseStream(res as unknown as ServerResponse, () => {});
    const events = new ChunkEvents({ id: 'cmpl-1' }, true);
    const tick = () => new Promise((r) => setImmediate(r));
    sse.sendChoice(events, { index: 0, text: 'a', finish_reason: null });
    await tick();
    sse.sendChoice(events, { index: 0, text: 'b', finish_reason: null });
    await tick();
    // The last token, the finish reason, the usage chunk and [DONE], as a route sends them in one tick.
    sse.sendChoice(events, { index: 0, text: 'c', finish_reason: null });
    sse.sendChoice(events, { index: 0, text: '', finish_reason: 'length' });
    sse.finish({ cancelled: false }, () => ({ id: 'cmpl-1', choices: [], usage: { completion_tokens: 3 } }));
    await tick();
    const chunk = (c: object) => `data: ${JSON.stringify({ id: 'cmpl-1', choices: [c], usage: null })}\n\n`;
    expect(res.flushed).toEqual([
      chunk({ index: 0, text: 'a', finish_reason: null }),
      chunk({ index: 0, text: 'b', finish_reason: null }),
      chunk({ index: 0, text: 'c', finish_reason: null }) +
        chunk({ index: 0, text: '', finish_reason: 'length' }) +
        `data: ${JSON.stringify({ id: 'cmpl-1', choices: [], usage: { completion_tokens: 3 } })}\n\n` +
        'data: [DONE]\n\n',
    ]);
    expect(sse.closed).toBe(true);
  });
});
