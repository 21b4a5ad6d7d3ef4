/**
 * Log-probabilities in the two OpenAI shapes: chat (`logprobs.content[]` with bytes and `top_logprobs` lists) and
 * legacy completions (`tokens`, `token_logprobs`, `top_logprobs` dicts, `text_offset`).
 *
 * @module
 */
import type { TokenLogprob } from '@andes/nn';
import type { ServeTokenizer } from './served-model.js';

const utf8 = new TextEncoder();
const lossy = new TextDecoder('utf-8', { fatal: false });

/**
 * Token text and bytes for log-probability listings, cached per id: the token's bytes as they appear inside a text
 * (`tokenBytes`, leading space kept, special tokens as their piece), else `decode([id])`.
 */
export class TokenStrings {
  private readonly cache = new Map<number, { text: string; bytes: number[] }>();
  /** Reads token bytes from `tokenizer`. */
  constructor(private readonly tokenizer: ServeTokenizer) {}
  private entry(id: number): { text: string; bytes: number[] } {
    let e = this.cache.get(id);
    if (e === undefined) {
      const raw = this.tokenizer.tokenBytes?.(id, false, false) ?? null;
      if (raw !== null) e = { text: lossy.decode(raw), bytes: Array.from(raw) };
      else {
        const text = this.tokenizer.decode([id]);
        e = { text, bytes: Array.from(utf8.encode(text)) };
      }
      this.cache.set(id, e);
    }
    return e;
  }
  /** The text of one token (U+FFFD where it holds part of a character). */
  get(id: number): string {
    return this.entry(id).text;
  }
  /** The token's UTF-8 bytes. */
  bytes(id: number): number[] {
    return this.entry(id).bytes;
  }
}

/** One entry of chat `logprobs.content`. */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** Chat-format entry for a generated token. */
export function chatLogprob(strings: TokenStrings, id: number, logprob: number, top: TokenLogprob[]): ChatLogprob {
  return {
    token: strings.get(id),
    logprob,
    bytes: strings.bytes(id),
    top_logprobs: top.map((t) => ({ token: strings.get(t.id), logprob: t.logprob, bytes: strings.bytes(t.id) })),
  };
}

/** Legacy-completions `logprobs` object, built up token by token. */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** An empty legacy logprobs object. */
export function emptyLegacyLogprobs(): LegacyLogprobs {
  return { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
}

/** Appends one token (logprob null for the first prompt token). */
export function pushLegacy(
  out: LegacyLogprobs,
  strings: TokenStrings,
  id: number,
  offset: number,
  logprob: number | null,
  top: TokenLogprob[] | null,
): void {
  out.tokens.push(strings.get(id));
  out.token_logprobs.push(logprob);
  out.text_offset.push(offset);
  if (top === null) out.top_logprobs.push(null);
  else {
    const dict: Record<string, number> = {};
    for (const t of top) {
      const s = strings.get(t.id);
      if (!(s in dict)) dict[s] = t.logprob;
    }
    out.top_logprobs.push(dict);
  }
}
