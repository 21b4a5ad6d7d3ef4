import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader } from './line-reader.js';

describe('LineReader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'andes-lines-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function readAll(path: string, offset = 0) {
    const r = await LineReader.open(path, offset);
    const out = [];
    for (let l = await r.readLine(); l !== null; l = await r.readLine()) out.push(l);
    await r.close();
    return out;
  }

  it('splits on LF and CRLF with byte offsets, last line without newline', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'one\r\ntwo\n\nthree');
    const lines = await readAll(path);
    expect(lines).toEqual([
      { text: 'one', start: 0, end: 5 },
      { text: 'two', start: 5, end: 9 },
      { text: '', start: 9, end: 10 },
      { text: 'three', start: 10, end: 15 },
    ]);
    expect((await readAll(path, 5)).map((l) => l.text)).toEqual(['two', '', 'three']);
  });

  it('streams lines longer than its chunk and multi-byte characters across chunk edges', async () => {
    const path = join(dir, 'b.txt');
    // 70 000 × 'é' (2 bytes) crosses the 64 KiB chunk boundary mid-character.
    const long = 'é'.repeat(70000);
    const expected = ['short', long, 'ünï', long.slice(0, 33333) + 'x'];
    await writeFile(path, expected.join('\n') + '\n');
    const lines = await readAll(path);
    expect(lines.map((l) => l.text)).toEqual(expected);
    // Byte offsets agree with Buffer.byteLength of the preceding text.
    let at = 0;
    lines.forEach((l, i) => {
      expect(l.start).toBe(at);
      at += Buffer.byteLength(expected[i]!) + 1;
    });
    expect(await readAll(path, lines[2]!.start)).toEqual(lines.slice(2));
  });

  it('rejects an offset outside the file', async () => {
    const path = join(dir, 'c.txt');
    await writeFile(path, 'abc');
    await expect(LineReader.open(path, 4)).rejects.toThrow(/offset 4 is outside .*c\.txt \(3 bytes\)/);
  });
});
