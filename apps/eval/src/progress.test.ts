import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startProgress } from './progress.js';

describe('startProgress', () => {
  it('writes a start line, one plain line per 10% and a final line when the stream is not a TTY', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (c) => {
      text += c;
    });
    const p = startProgress('story-names', stream);
    for (let i = 1; i <= 40; i++) p.update(i, 40);
    p.stop();
    const lines = text.trimEnd().split('\n');
    // The true percentage, not the tenth it falls in (issue 10: "4/80 shown as 0%").
    expect(lines[0]).toBe('story-names: 1/40 (2%)');
    expect(lines[1]).toBe('story-names: 4/40 (10%)');
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toBe('story-names: 40/40 (100%)');
  });
});
