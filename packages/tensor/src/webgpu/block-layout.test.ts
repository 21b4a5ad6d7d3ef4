import { describe, expect, it } from 'vitest';
import type { BlockType } from '../backend/backend.js';
import { ggmlBlockInfo, ggmlByteSize } from '../formats/ggml-types.js';
import { randomBlockBytes } from '../quant/random-block-bytes.js';
import { blockLayout, packBlockWords, unpackBlockWords } from './block-layout.js';
import { rng } from './test-support.js';

// The WebGPU word layout is a lossless regrouping of the GGUF bytes at the file's bits per weight (no GPU needed).
const SHAPES: [BlockType, number, number][] = [
  ['F16', 7, 45],
  ['F16', 3, 44],
  ['BF16', 5, 33],
  ['Q8_0', 7, 96],
  ['Q4_0', 9, 160],
  ['Q4_K', 5, 768],
  ['Q6_K', 3, 768],
];

describe('block layout', () => {
  for (const [type, n, k] of SHAPES) {
    it(`${type} [${n}, ${k}]: packs and unpacks the exact bytes, at the file's size plus < 1 word per section`, () => {
      const bytes = randomBlockBytes(type, n * k, rng(n * k));
      const words = packBlockWords(type, n, k, bytes);
      expect(unpackBlockWords(type, n, k, words)).toEqual(bytes);
      const layout = blockLayout(type, n, k);
      expect(words.length).toBe(layout.words);
      // Padding: one half per odd-length F16/BF16 row, otherwise under one word per section (three at most).
      const slack = type === 'F16' || type === 'BF16' ? 2 * n + 4 : 12;
      expect(4 * layout.words - ggmlByteSize(type, n * k)).toBeLessThan(slack);
      expect(4 * layout.words).toBeGreaterThanOrEqual(ggmlByteSize(type, n * k));
    });
  }

  it('Q4_0: block i of row r keeps its 16 nibble bytes as words 4i…4i+3 and its f16 scale as half i', () => {
    const [n, k] = [3, 96];
    const bytes = randomBlockBytes('Q4_0', n * k, rng(3));
    const words = new Uint8Array(packBlockWords('Q4_0', n, k, bytes).buffer);
    const { halfOffset } = blockLayout('Q4_0', n, k);
    const { typeSize } = ggmlBlockInfo('Q4_0');
    for (let i = 0; i < n * (k / 32); i++) {
      expect(words.subarray(16 * i, 16 * i + 16)).toEqual(bytes.subarray(i * typeSize + 2, (i + 1) * typeSize));
      expect([words[4 * halfOffset + 2 * i], words[4 * halfOffset + 2 * i + 1]]).toEqual([
        bytes[i * typeSize],
        bytes[i * typeSize + 1],
      ]);
    }
  });

  it('names the type and shape when the words are too few', () => {
    expect(() => unpackBlockWords('Q6_K', 2, 256, new Int32Array(10))).toThrow(
      /unpackBlockWords Q6_K \[2, 256\]: needs 105 words, got 10/,
    );
  });
});
