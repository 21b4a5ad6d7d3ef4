import { mixSeed, seededUniform } from '@andes/tensor';
import { describe, expect, it } from 'vitest';
import { ChunkEvents } from './sse.js';

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
