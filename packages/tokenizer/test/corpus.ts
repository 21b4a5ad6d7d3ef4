// Deterministic generated text for reference comparisons and benchmarks: prose, code, whitespace
// runs, digits, CJK, emoji with ZWJ sequences, combining marks, right-to-left text, control chars.

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = (
  'the of and to in is was that for it with as his on be at by had are but from or have an they which one you were ' +
  'her all she there would their we him been has when who will more no if out so said what up its about into than ' +
  'them can only other new some could time these two may then do first any my now such like our over man me even ' +
  'most made after also did many before must through back years where much your way well down should because each ' +
  'tokenizer transformer attention gradient Hello World Paris LLaMA SentencePiece unbelievable internationalization ' +
  "don't it's we'll they're O'Neil naïve café résumé coöperate Straße"
).split(' ');
const code = [
  'function add(a, b) {\n  return a + b;\n}\n',
  'for (let i = 0; i < n; i++) {\n\tsum += x[i] * w[i];\n}\n',
  'def forward(self, x):\n    h = self.norm(x)\n    return x + self.attn(h)\n',
  'const { encode } = await import("./tok.js"); // TODO: cache\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }\n',
  '    if (a != b && c >= d || !e) { throw new Error(`bad $' + '{x}`); }\n',
  '<div class="row"><span id=\'x\'>&amp; &lt;tag&gt;</span></div>\n',
  'SELECT id, name FROM users WHERE age > 30 ORDER BY name;\n',
];
const cjk = [
  '你好世界',
  '日本語のテキスト',
  '한국어 문장입니다',
  '機械学習は楽しい',
  '中文分词测试。',
  'ｆｕｌｌｗｉｄｔｈ',
];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '❤️', '🇫🇷', '🧑🏿‍💻', '✨'];
const rtl = ['שלום עולם', 'مرحبا بالعالم', '\u200fעברית\u200f', 'سلام'];
const combining = ['e\u0301', 'a\u0308\u0304', 'n\u0303', 'Z\u0351\u0352\u0357', 'o\u0328\u0301'];
const spaces = [' ', '  ', '   ', '    ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n ', '\u00a0', '\u3000', '\u2009'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomCodePoint(r: () => number): string {
  for (;;) {
    const u = r();
    const cp = u < 0.5 ? Math.floor(r() * 0x250) : u < 0.8 ? Math.floor(r() * 0x10000) : Math.floor(r() * 0x110000);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    return String.fromCodePoint(cp);
  }
}

/** One random fragment of roughly `size` characters of a random kind. */
export function fragment(r: () => number): string {
  const kind = r();
  if (kind < 0.35) {
    const n = 3 + Math.floor(r() * 25);
    let s = '';
    for (let i = 0; i < n; i++) s += (i ? ' ' : '') + pick(r, words);
    return s + pick(r, ['. ', ', ', '? ', '! ', '\n', ' ']);
  }
  if (kind < 0.5) return pick(r, code);
  if (kind < 0.56) return String(Math.floor(r() * 10 ** Math.floor(r() * 12))) + pick(r, [' ', '.', ',', '', '%']);
  if (kind < 0.62) return pick(r, cjk);
  if (kind < 0.68) return pick(r, emoji) + pick(r, ['', ' ', '']);
  if (kind < 0.72) return pick(r, rtl);
  if (kind < 0.76) return pick(r, combining);
  if (kind < 0.84) return pick(r, spaces);
  if (kind < 0.88) return String.fromCharCode(Math.floor(r() * 32)) + (r() < 0.5 ? '\u007f' : '');
  let s = '';
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += randomCodePoint(r);
  return s;
}

/** `count` documents of 1–40 fragments each, deterministic in `seed`. */
export function generateCorpus(seed: number, count: number): string[] {
  const r = rng(seed);
  const docs: string[] = [];
  for (let d = 0; d < count; d++) {
    const n = 1 + Math.floor(r() * 40);
    let s = r() < 0.1 ? pick(r, spaces) : '';
    for (let i = 0; i < n; i++) s += fragment(r);
    docs.push(s);
  }
  return docs;
}

/** About `bytes` UTF-8 bytes of mixed generated text in one string. */
export function generateText(seed: number, bytes: number): string {
  const r = rng(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const f = fragment(r);
    parts.push(f);
    size += Buffer.byteLength(f);
  }
  return parts.join('');
}

/**
 * About `bytes` of prose-like text over a Zipf-distributed vocabulary of `vocab` pseudo-words built
 * from syllables: a stand-in for natural text with many word types, for training benchmarks.
 */
export function generateZipfText(seed: number, bytes: number, vocab = 60000): string[] {
  const r = rng(seed);
  const syllables =
    'ka ri to na me lu so pe di ga ver sta tion ing er the an qu ex pro con ble ment ous al re de'.split(' ');
  const words: string[] = [];
  for (let i = 0; i < vocab; i++) {
    const n = 1 + Math.floor(r() * 4);
    let w = '';
    for (let k = 0; k < n; k++) w += syllables[Math.floor(r() * syllables.length)];
    words.push(r() < 0.1 ? w[0]!.toUpperCase() + w.slice(1) : w);
  }
  // Zipf sampling through the inverse CDF of 1/rank weights.
  const cdf = new Float64Array(vocab);
  let acc = 0;
  for (let i = 0; i < vocab; i++) cdf[i] = acc += 1 / (i + 1);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 5 + Math.floor(r() * 30);
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      const x = r() * acc;
      let lo = 0;
      let hi = vocab - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      parts.push(words[lo]!);
      if (r() < 0.08) parts.push(String(Math.floor(r() * 2000)));
    }
    const line = `${parts.join(' ')}.`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines;
}
