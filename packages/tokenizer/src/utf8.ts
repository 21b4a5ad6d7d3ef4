// UTF-8 helpers shared by the tokenizers.
//
// Lone surrogates: JS strings may hold unpaired UTF-16 surrogates, which have no UTF-8 form. Every
// tokenizer here replaces each one with U+FFFD before encoding, exactly as `TextEncoder` does.
// Decoding invalid bytes follows SentencePiece: each byte that does not start a valid UTF-8
// sequence becomes one U+FFFD (not one per maximal subpart as `TextDecoder` would).

const encoder = new TextEncoder();

/** UTF-8 bytes of `s` (lone surrogates become EF BF BD). */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

const hasToWellFormed = typeof (String.prototype as { toWellFormed?: unknown }).toWellFormed === 'function';

/** `s` with every lone surrogate replaced by U+FFFD. */
export function toWellFormed(s: string): string {
  if (hasToWellFormed) return (s as unknown as { toWellFormed(): string }).toWellFormed();
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Length of the valid UTF-8 sequence at `bytes[i]`: 1–4, 0 when the sequence is invalid, or -1
 * when it is a valid prefix cut off by `end` (more bytes could still complete it).
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0; // no overlongs
    if (b0 === 0xed) hi = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    if (i + k >= end) return -1;
    const b = bytes[i + k]!;
    if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return 0;
  }
  return need + 1;
}

/**
 * Decodes `bytes[0, end)`, replacing each invalid byte with U+FFFD. When `final` is false a
 * valid-but-incomplete tail is left undecoded; returns the text and how many bytes were consumed.
 */
export function utf8DecodeLossy(
  bytes: Uint8Array,
  end = bytes.length,
  final = true,
): { text: string; consumed: number } {
  let out = '';
  let i = 0;
  let runStart = 0;
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  while (i < end) {
    if (bytes[i]! < 0x80) {
      i++;
      continue;
    }
    const n = utf8SequenceLength(bytes, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (n === -1 && !final) break;
    out += decoder.decode(bytes.subarray(runStart, i)) + '\uFFFD';
    i++;
    runStart = i;
  }
  out += decoder.decode(bytes.subarray(runStart, i));
  return { text: out, consumed: i };
}
