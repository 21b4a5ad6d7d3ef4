// SentencePiece's BPE merge loop: repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring vocabulary piece, ties going to the leftmost pair. Long inputs use a binary heap
// plus a doubly linked list over symbols (O(n log n)); short ones scan cached pair scores, which
// does fewer allocations and gives the same answer (the heap's live entries are exactly the
// current adjacent pairs, ordered by score then left position).

/** Pair lookups for the merge loop. Symbols are small non-negative ints; -1 never merges. */
export interface MergeTable {
  /** `left * stride + right` → merged symbol. */
  readonly pairs: Map<number, number>;
  readonly stride: number;
  /** Score of each merged symbol (indexed by symbol). */
  readonly scores: Float32Array;
  /** Called when a pair is queued, so UNUSED pieces can be re-split afterwards (may be null). */
  readonly onPair: ((merged: number, left: number, right: number) => void) | null;
}

const SMALL = 48;

/**
 * Merges `sym[0, n)` (with code-unit lengths `len`) in place. On return the surviving symbols are
 * those with `len[i] > 0`, in order. `sym`/`len` need capacity `n`.
 */
export function mergeSymbols(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  if (n < 2) return;
  if (n <= SMALL) mergeSmall(table, sym, len, n);
  else mergeWithHeap(table, sym, len, n);
}

function lookup(table: MergeTable, a: number, b: number): number {
  if (a < 0 || b < 0) return -1;
  const m = table.pairs.get(a * table.stride + b);
  if (m === undefined) return -1;
  table.onPair?.(m, a, b);
  return m;
}

// Scratch for the small path: merged symbol of (i, next(i)), or -1.
let pairMerged = new Int32Array(SMALL);
let order = new Int32Array(SMALL);

function mergeSmall(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  if (pairMerged.length < n) {
    pairMerged = new Int32Array(n);
    order = new Int32Array(n);
  }
  // `order` holds the indices of live symbols, compacted.
  let m = n;
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i + 1 < n; i++) pairMerged[i] = lookup(table, sym[i]!, sym[i + 1]!);
  const scores = table.scores;
  for (;;) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let k = 0; k + 1 < m; k++) {
      const merged = pairMerged[k]!;
      if (merged >= 0 && (best < 0 || scores[merged]! > bestScore)) {
        best = k;
        bestScore = scores[merged]!;
      }
    }
    if (best < 0) return;
    const li = order[best]!;
    const ri = order[best + 1]!;
    sym[li] = pairMerged[best]!;
    len[li]! += len[ri]!;
    len[ri] = 0;
    m--;
    for (let k = best + 1; k < m; k++) {
      order[k] = order[k + 1]!;
      pairMerged[k] = pairMerged[k + 1]!;
    }
    if (best > 0) pairMerged[best - 1] = lookup(table, sym[order[best - 1]!]!, sym[li]!);
    pairMerged[best] = best + 1 < m ? lookup(table, sym[li]!, sym[order[best + 1]!]!) : -1;
  }
}

function mergeWithHeap(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // Each merge adds at most two entries.
  const cap = 3 * n;
  const entLeft = new Int32Array(cap);
  const entRight = new Int32Array(cap);
  const entSize = new Int32Array(cap);
  const entMerged = new Int32Array(cap);
  const entScore = new Float64Array(cap);
  const heap = new Int32Array(cap);
  let entries = 0;
  let heapSize = 0;
  const scores = table.scores;

  // a outranks b: higher score, then smaller left index.
  const above = (a: number, b: number): boolean =>
    entScore[a]! > entScore[b]! || (entScore[a] === entScore[b] && entLeft[a]! < entLeft[b]!);

  const push = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const merged = lookup(table, sym[left]!, sym[right]!);
    if (merged < 0) return;
    const e = entries++;
    entLeft[e] = left;
    entRight[e] = right;
    entSize[e] = len[left]! + len[right]!;
    entMerged[e] = merged;
    entScore[e] = scores[merged]!;
    let i = heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(e, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = e;
  };

  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--heapSize]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heapSize) break;
      const r = l + 1;
      const c = r < heapSize && above(heap[r]!, heap[l]!) ? r : l;
      if (!above(heap[c]!, last)) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  };

  for (let i = 0; i + 1 < n; i++) push(i, i + 1);
  while (heapSize > 0) {
    const e = pop();
    const l = entLeft[e]!;
    const r = entRight[e]!;
    // Stale: one side was merged away or grew since this entry was queued.
    if (len[l] === 0 || len[r] === 0 || len[l]! + len[r]! !== entSize[e]) continue;
    sym[l] = entMerged[e]!;
    len[l]! += len[r]!;
    len[r] = 0;
    const after = next[r]!;
    next[l] = after;
    if (after >= 0) prev[after] = l;
    push(prev[l]!, l);
    push(l, after);
  }
}
