/**
 * Log-probabilities in the two OpenAI shapes: chat (`logprobs.content[]` with bytes and `top_logprobs` lists) and
 * legacy completions (`tokens`, `token_logprobs`, `top_logprobs` dicts, `text_offset`).
 *
 * @module
 */
import type { TokenLogprob } from './sampling.js';
import type { ServeTokenizer } from './served-model.js';

/** Token text for log-probability listings, cached per id. */
export class TokenStrings {
  private readonly cache = new Map<number, string>();
  /** Uses `tokenizer.decode([id])`. */
  constructor(private readonly tokenizer: ServeTokenizer) {}
  /** The text of one token on its own. */
  get(id: number): string {
    let s = this.cache.get(id);
    if (s === undefined) {
      s = this.tokenizer.decode([id]);
      this.cache.set(id, s);
    }
    return s;
  }
}

/** One entry of chat `logprobs.content`. */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const utf8 = new TextEncoder();

/** Chat-format entry for a generated token. */
export function chatLogprob(strings: TokenStrings, id: number, logprob: number, top: TokenLogprob[]): ChatLogprob {
  const token = strings.get(id);
  return {
    token,
    logprob,
    bytes: Array.from(utf8.encode(token)),
    top_logprobs: top.map((t) => {
      const s = strings.get(t.id);
      return { token: s, logprob: t.logprob, bytes: Array.from(utf8.encode(s)) };
    }),
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
