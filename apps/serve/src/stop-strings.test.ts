import { describe, expect, it } from 'vitest';
import { StopMatcher } from './stop-strings.js';

/** Reference: scan the whole text character by character; stop at the first point where a stop string ends. */
function reference(text: string, stops: string[]): { text: string; stopped: boolean } {
  for (let end = 1; end <= text.length; end++) {
    const hits = stops.filter((s) => s && text.slice(0, end).endsWith(s));
    if (hits.length > 0) {
      const longest = hits.reduce((a, b) => (b.length > a.length ? b : a));
      return { text: text.slice(0, end - longest.length), stopped: true };
    }
  }
  return { text, stopped: false };
}

function runStream(pieces: string[], stops: string[]): { text: string; stopped: boolean; chunks: string[] } {
  const m = new StopMatcher(stops);
  const chunks: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    chunks.push(r.text);
    if (r.stopped) return { text: chunks.join(''), stopped: true, chunks };
  }
  chunks.push(m.flush());
  return { text: chunks.join(''), stopped: false, chunks };
}

describe('StopMatcher', () => {
  it('cuts a stop string split across pieces and never emits any part of it', () => {
    const r = runStream(['Hello', ' wor', 'ld', '\n\nUs', 'er: more'], ['\n\nUser:']);
    expect(r).toMatchObject({ text: 'Hello world', stopped: true });
    expect(r.chunks.join('')).not.toContain('\n');
  });

  it('releases held-back text when the candidate prefix turns out not to be a stop', () => {
    const r = runStream(['ab', 'c', 'x', 'abd'], ['abcd']);
    expect(r).toMatchObject({ text: 'abcxabd', stopped: false });
  });

  it('picks the stop string that completes first, whatever the split', () => {
    expect(runStream(['one two three'], ['three', 'two'])).toMatchObject({ text: 'one ', stopped: true });
    expect(runStream(['abcd'], ['abcd', 'bc'])).toMatchObject({ text: 'a', stopped: true });
    expect(runStream(['ab', 'cd'], ['abcd', 'bc'])).toMatchObject({ text: 'a', stopped: true });
  });

  it('matches the whole-text reference on random piece splits', () => {
    let seed = 99;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = 'ab\n';
    for (let trial = 0; trial < 500; trial++) {
      const text = Array.from({ length: 1 + rand(30) }, () => alphabet[rand(3)]).join('');
      const stops = Array.from({ length: 1 + rand(4) }, () =>
        Array.from({ length: 1 + rand(4) }, () => alphabet[rand(3)]).join(''),
      );
      const pieces: string[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + rand(4);
        pieces.push(text.slice(i, i + n));
        i += n;
      }
      const got = runStream(pieces, stops);
      const want = reference(text, stops);
      expect({ text: got.text, stopped: got.stopped }).toEqual(want);
      // No emitted prefix ever contains a stop string.
      let acc = '';
      for (const c of got.chunks) {
        acc += c;
        for (const s of stops) expect(acc.includes(s)).toBe(false);
      }
    }
  });
});
