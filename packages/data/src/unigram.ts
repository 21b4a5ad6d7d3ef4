/**
 * Unigram cross-entropy of a token stream, in nats per token: −Σ p(t)·ln p(t) over the empirical token
 * frequencies p (the loss of the best model that ignores context). A language model that learned
 * anything about context scores below it; the tiny preset must reach half of it on the story corpus.
 *
 * @param tokens token ids, as one array or several (e.g. the `targets` of validation batches).
 */
export function unigramCrossEntropy(tokens: ArrayLike<number> | Iterable<ArrayLike<number>>): number {
  const counts = new Map<number, number>();
  let total = 0;
  const add = (a: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++) counts.set(a[i]!, (counts.get(a[i]!) ?? 0) + 1);
    total += a.length;
  };
  if (isArrayLike(tokens)) add(tokens);
  else for (const part of tokens) add(part);
  if (total === 0) throw new Error('unigramCrossEntropy: no tokens');
  let h = 0;
  for (const c of counts.values()) h -= (c / total) * Math.log(c / total);
  return h;
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return typeof (x as ArrayLike<number>).length === 'number' && typeof (x as ArrayLike<number>)[0] !== 'object';
}
