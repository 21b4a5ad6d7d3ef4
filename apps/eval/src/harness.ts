/**
 * lm-evaluation-harness's request arithmetic, reproduced so that scores mean the same thing:
 * context/continuation token splitting, left truncation, rolling windows, and stop-string cutting.
 * @module
 */

/**
 * Moves trailing whitespace of `context` to the front of `continuation`, as the harness's `_encode_pair` does, so
 * that a context ending in a space does not make the tokenizer split a word-initial space token in two.
 */
export function moveTrailingWhitespace(
  context: string,
  continuation: string,
): { context: string; continuation: string } {
  const trimmed = context.trimEnd();
  const moved = context.length - trimmed.length;
  if (moved === 0) return { context, continuation };
  return { context: trimmed, continuation: context.slice(trimmed.length) + continuation };
}

/**
 * A scoring request in token space: the model reads `tokens[0..n-2]` and the last `scored` tokens are the targets
 * whose log-probabilities are summed. `tokens.length - scored ≥ 1` (a context, at least the prefix token).
 */
export interface TokenRequest {
  tokens: number[];
  scored: number;
}

/**
 * The harness's continuation split: encode context and context+continuation separately (both with the prefix token)
 * and take the continuation as the tokens past the context's length, so merges across the boundary count as the
 * continuation's.
 */
export function continuationRequest(contextTokens: number[], wholeTokens: number[]): TokenRequest {
  const scored = wholeTokens.length - contextTokens.length;
  if (contextTokens.length < 1) throw new Error('continuationRequest: the context needs at least the prefix token');
  if (scored < 0) {
    throw new Error(
      `continuationRequest: context+continuation has ${wholeTokens.length} tokens, fewer than the context's ${contextTokens.length}`,
    );
  }
  return { tokens: wholeTokens, scored };
}

/**
 * Left-truncates a request to at most `maxLength` input tokens, as the harness's
 * `(context_enc + continuation_enc)[-(max_length + 1):]` does. Throws when the scored part itself does not fit.
 */
export function truncateLeft(request: TokenRequest, maxLength: number): TokenRequest {
  if (request.scored > maxLength) {
    throw new Error(
      `truncateLeft: the continuation has ${request.scored} tokens, more than the model's ${maxLength}-token context`,
    );
  }
  if (request.tokens.length <= maxLength + 1) return request;
  return { tokens: request.tokens.slice(request.tokens.length - maxLength - 1), scored: request.scored };
}

/**
 * Rolling windows over a token list, as the harness's `get_rolling_token_windows` + `make_disjoint_window`:
 * the first window is `[prefix, t0 … t(L-2)]` scoring `t0 … t(L-1)`; each later window scores the next `stride` tokens
 * with up to `maxLength - stride` earlier tokens as context. Every token is scored exactly once.
 * `stride = maxLength` gives the harness's disjoint windows.
 */
export function rollingWindows(
  tokens: number[],
  prefixToken: number,
  maxLength: number,
  stride = maxLength,
): TokenRequest[] {
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new Error(`rollingWindows: maxLength must be ≥ 1, got ${maxLength}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > maxLength) {
    throw new Error(`rollingWindows: stride must be an integer in [1, ${maxLength}], got ${stride}`);
  }
  const windows: TokenRequest[] = [];
  if (tokens.length === 0) return windows;
  const first = Math.min(maxLength, tokens.length);
  windows.push({ tokens: [prefixToken, ...tokens.slice(0, first)], scored: first });
  let predicted = first;
  while (predicted < tokens.length) {
    const count = Math.min(tokens.length - predicted, stride);
    const end = predicted + count;
    // Input is tokens[end-1-maxLength .. end-2]: maxLength tokens, the last `count` of them predicting new targets.
    const start = Math.max(0, end - 1 - maxLength);
    windows.push({ tokens: tokens.slice(start, end), scored: count });
    predicted = end;
  }
  return windows;
}

/** Index of the first maximum, as `np.argmax`. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Length in Unicode code points, as Python's `len(str)`. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Cuts generated text before the first occurrence of any stop string, as the harness's `generate_until`. */
export function cutAtStop(text: string, until: readonly string[]): string {
  let end = text.length;
  for (const stop of until) {
    if (stop === '') continue;
    const i = text.indexOf(stop);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}
