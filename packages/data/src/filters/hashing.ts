/**
 * 32-bit MurmurHash3 (x86_32) of a string's UTF-16 code units, with a seed. Fast and well mixed; two seeds give a
 * 64-bit key for dedup sets where a 32-bit key would collide.
 */
export function murmur32(text: string, seed: number): number {
  let h = seed >>> 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 64-bit key of `text` (two seeded murmur3 hashes) as a string, for exact-match sets. */
export function hashKey64(text: string): string {
  return `${murmur32(text, 0x9747b28c).toString(36)}:${murmur32(text, 0x2545f491).toString(36)}`;
}
