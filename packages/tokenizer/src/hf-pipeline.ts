// The parts of a Hugging Face `tokenizer.json` pipeline before the model: normalizers and
// pre-tokenizers, built from their JSON with errors that name the field path.
import { toWellFormed } from './utf8.js';

/** A JSON object read from tokenizer.json, with its path for error messages. */
export type Json = Record<string, unknown>;

/** Throws `tokenizer.json: <path>: <what>`. */
export function jsonError(path: string, what: string): never {
  throw new Error(`tokenizer.json: ${path}: ${what}`);
}

export function asObject(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    jsonError(path, `expected an object, got ${describe(v)}`);
  return v as Json;
}

export function asArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) jsonError(path, `expected an array, got ${describe(v)}`);
  return v;
}

export function asString(v: unknown, path: string): string {
  if (typeof v !== 'string') jsonError(path, `expected a string, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `string ${JSON.stringify(v.slice(0, 40))}` : typeof v;
}

/** Splits a string into pieces; each piece is later encoded by the model on its own. */
export type PreTokenizer = (pieces: string[]) => string[];
/** Rewrites the text of one segment (between added tokens). */
export type Normalizer = (s: string) => string;

/** GPT-2's pre-tokenizer split regex (ByteLevel `use_regex`), for JS with the `u` flag. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
/** Llama 3's split regex (its `(?i:...)` contraction group spelled out for Node 20's RegExp). */
export const LLAMA3_SPLIT =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/**
 * Compiles an Oniguruma pattern from tokenizer.json as a JS regex. Case-insensitive groups
 * `(?i:...)`, which Node 20 lacks, are rewritten with explicit letter classes.
 */
export function compilePattern(pattern: string, path: string): RegExp {
  const rewritten = pattern.replace(/\(\?i:((?:\\.|[^()\\])*)\)/g, (_, body: string) => {
    const caseless = body.replace(/\\.|[a-zA-Z]/g, (c) =>
      c.length === 1 ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c,
    );
    return `(?:${caseless})`;
  });
  try {
    return new RegExp(rewritten, 'gu');
  } catch (err) {
    return jsonError(path, `cannot compile regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

function patternOf(v: unknown, path: string): RegExp {
  const p = asObject(v, path);
  if (typeof p.Regex === 'string') return compilePattern(p.Regex, `${path}.Regex`);
  if (typeof p.String === 'string') return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
  return jsonError(path, 'expected {"Regex": ...} or {"String": ...}');
}

/** Splits `s` by `re` with a Hugging Face `SplitDelimiterBehavior`. */
export function splitBy(s: string, re: RegExp, behavior: string, invert: boolean): string[] {
  const out: string[] = [];
  const pieces: [string, boolean][] = [];
  let last = 0;
  re.lastIndex = 0;
  for (const m of s.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > last) pieces.push([s.slice(last, m.index), invert]);
    pieces.push([m[0], !invert]);
    last = m.index + m[0].length;
  }
  if (last < s.length) pieces.push([s.slice(last), invert]);
  let carry = '';
  for (let i = 0; i < pieces.length; i++) {
    const [text, isDelim] = pieces[i]!;
    if (!isDelim) {
      out.push(carry + text);
      carry = '';
      continue;
    }
    if (behavior === 'Removed') continue;
    if (behavior === 'Isolated') out.push(text);
    else if (behavior === 'MergedWithPrevious') {
      if (out.length > 0 && !carry) out[out.length - 1] += text;
      else {
        out.push(carry + text);
        carry = '';
      }
    } else if (behavior === 'MergedWithNext') carry += text;
    else if (behavior === 'Contiguous') {
      if (i > 0 && pieces[i - 1]![1]) out[out.length - 1] += text;
      else out.push(text);
    }
  }
  if (carry) out.push(carry);
  return out.filter((p) => p.length > 0);
}

/** GPT-2's byte ↔ printable-character alphabet used by ByteLevel. */
export const byteToUnicode: string[] = (() => {
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
})();

/** Inverse of {@link byteToUnicode}. */
export const unicodeToByte = new Map(byteToUnicode.map((ch, b) => [ch, b]));

const encoder = new TextEncoder();

/** Maps a piece's UTF-8 bytes to ByteLevel characters. */
export function toByteLevel(s: string): string {
  let out = '';
  for (const b of encoder.encode(s)) out += byteToUnicode[b];
  return out;
}

export function buildNormalizer(v: unknown, path: string): Normalizer | null {
  if (v === null || v === undefined) return null;
  const n = asObject(v, path);
  const type = asString(n.type, `${path}.type`);
  switch (type) {
    case 'Sequence': {
      const parts = asArray(n.normalizers, `${path}.normalizers`).map((x, i) =>
        buildNormalizer(x, `${path}.normalizers[${i}]`),
      );
      return (s) => parts.reduce((acc, f) => (f ? f(acc) : acc), s);
    }
    case 'Prepend': {
      const prepend = asString(n.prepend, `${path}.prepend`);
      return (s) => (s.length > 0 ? prepend + s : s);
    }
    case 'Replace': {
      const re = patternOf(n.pattern, `${path}.pattern`);
      const content = asString(n.content, `${path}.content`);
      return (s) => s.replace(re, () => content);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (s) => s.normalize(type);
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'Strip': {
      const left = n.strip_left !== false;
      const right = n.strip_right !== false;
      return (s) => (left && right ? s.trim() : left ? s.trimStart() : right ? s.trimEnd() : s);
    }
    default:
      return jsonError(`${path}.type`, `unsupported normalizer ${JSON.stringify(type)}`);
  }
}

/** What the pre-tokenizer implies for decoding and for the encoder's fast paths. */
export interface PreTokenizerInfo {
  byteLevel: boolean;
}

export function buildPreTokenizer(v: unknown, path: string, info: PreTokenizerInfo): PreTokenizer | null {
  if (v === null || v === undefined) return null;
  const p = asObject(v, path);
  const type = asString(p.type, `${path}.type`);
  switch (type) {
    case 'Sequence': {
      const parts = asArray(p.pretokenizers, `${path}.pretokenizers`).map((x, i) =>
        buildPreTokenizer(x, `${path}.pretokenizers[${i}]`, info),
      );
      return (pieces) => parts.reduce((acc, f) => (f ? f(acc) : acc), pieces);
    }
    case 'Split': {
      const re = patternOf(p.pattern, `${path}.pattern`);
      const behavior = asString(p.behavior ?? 'Isolated', `${path}.behavior`);
      const invert = p.invert === true;
      return (pieces) => pieces.flatMap((s) => splitBy(s, re, behavior, invert));
    }
    case 'ByteLevel': {
      info.byteLevel = true;
      const addPrefix = p.add_prefix_space === true;
      const useRegex = p.use_regex !== false;
      return (pieces) =>
        pieces.flatMap((s, i) => {
          const t = addPrefix && i === 0 && !s.startsWith(' ') ? ` ${s}` : s;
          const split = useRegex ? splitBy(t, GPT2_SPLIT, 'Isolated', false) : [t];
          return split.map(toByteLevel);
        });
    }
    case 'Metaspace': {
      const rep = asString(p.replacement ?? '\u2581', `${path}.replacement`);
      const scheme =
        typeof p.prepend_scheme === 'string' ? p.prepend_scheme : p.add_prefix_space === false ? 'never' : 'always';
      const split = p.split !== false;
      return (pieces) =>
        pieces.flatMap((s, i) => {
          let t = s.replaceAll(' ', rep);
          if ((scheme === 'always' || (scheme === 'first' && i === 0)) && !t.startsWith(rep)) t = rep + t;
          return split ? splitBy(t, new RegExp(rep, 'gu'), 'MergedWithNext', false) : [t];
        });
    }
    case 'Digits': {
      const re = p.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return (pieces) => pieces.flatMap((s) => splitBy(s, re, 'Isolated', false));
    }
    case 'Whitespace':
      return (pieces) => pieces.flatMap((s) => s.match(/\w+|[^\w\s]+/gu) ?? []);
    case 'WhitespaceSplit':
      return (pieces) => pieces.flatMap((s) => s.split(/\s+/u).filter(Boolean));
    default:
      return jsonError(`${path}.type`, `unsupported pre_tokenizer ${JSON.stringify(type)}`);
  }
}

/** Lone surrogates become U+FFFD before anything else, as for SentencePiece models. */
export const wellFormed = toWellFormed;
