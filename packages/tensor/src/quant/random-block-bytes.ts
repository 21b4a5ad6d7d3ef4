/**
 * Random valid weights in a block format, for tests of the block kernels on every backend: random payload bytes and
 * finite, moderate f16 scales (so results stay far from overflow and checks are meaningful), never all zeros.
 *
 * @module
 */
import type { BlockType } from '../backend/backend.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../formats/half-precision.js';

/** The GGUF bytes of `count` random elements of `type`, drawn from `rand` (uniform in [0, 1)). */
export function randomBlockBytes(type: BlockType, count: number, rand: () => number): Uint8Array {
  const bytes = new Uint8Array(ggmlByteSize(type, count));
  const putHalf = (at: number, v: number) => {
    const h = float32ToFloat16Bits(v);
    bytes[at] = h & 255;
    bytes[at + 1] = h >> 8;
  };
  if (type === 'F16' || type === 'BF16') {
    for (let i = 0; i < count; i++) {
      const v = (rand() * 2 - 1) * 3;
      const h = type === 'F16' ? float32ToFloat16Bits(v) : float32ToBfloat16Bits(v);
      bytes[2 * i] = h & 255;
      bytes[2 * i + 1] = h >> 8;
    }
    return bytes;
  }
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  const scale = () => (rand() * 2 - 1) * 0.05;
  if (type === 'Q8_0') for (let at = 0; at < bytes.length; at += 34) putHalf(at, scale());
  if (type === 'Q4_0') for (let at = 0; at < bytes.length; at += 18) putHalf(at, scale());
  if (type === 'Q4_K') {
    for (let at = 0; at < bytes.length; at += 144) {
      putHalf(at, Math.abs(scale()));
      putHalf(at + 2, Math.abs(scale()));
    }
  }
  if (type === 'Q6_K') for (let at = 0; at < bytes.length; at += 210) putHalf(at + 208, scale());
  return bytes;
}
