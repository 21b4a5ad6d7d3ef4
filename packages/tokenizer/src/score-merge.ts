// SentencePiece's BPE merge loop: repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring vocabulary piece, ties going to the leftmost pair. Long inputs use a binary heap
// plus a doubly linked list over symbols (O(n log n)); short ones scan cached pair scores, which
// does fewer allocations and gives the same answer (the heap's live entries are exactly the
// current adjacent pairs, ordered by score then left position).

/** An open-addressing hash map from a pair of symbols to their merged symbol (faster than `Map`). */
export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Int32Array;
  private readonly mask: number;

  constructor(capacityHint: number) {
    let cap = 16;
    while (cap < capacityHint * 2) cap *= 2;
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.value = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77)) & this.mask;
  }

  /** Adds `(a, b) → merged`; an existing entry keeps its value. */
  set(a: number, b: number, merged: number): void {
    let i = this.slot(a, b);
    while (this.value[i]! >= 0) {
      if (this.left[i] === a && this.right[i] === b) return;
      i = (i + 1) & this.mask;
    }
    this.left[i] = a;
    this.right[i] = b;
    this.value[i] = merged;
  }

  /** The merged symbol of `(a, b)`, or -1. */
  get(a: number, b: number): number {
    let i = this.slot(a, b);
    for (;;) {
      const v = this.value[i]!;
      if (v < 0) return -1;
      if (this.left[i] === a && this.right[i] === b) return v;
      i = (i + 1) & this.mask;
    }
  }
}

/**
 * Pair lookups for the merge loop. Symbols are small non-negative ints; -1 never merges. A pair
 * maps to a merge index `m`: the merged symbol is `results[m]` (or `m` itself when `results` is
 * null, as for SentencePiece where merges are named by the piece they make).
 */
export interface MergeTable {
  readonly pairs: PairTable;
  readonly results: Int32Array | null;
  /** Score of each merge (higher merges first). */
  readonly scores: Float32Array;
  /** Dense rank of each merge's score: 0 for the highest score, equal scores share a rank. */
  readonly ranks: Int32Array;
  /** Called when a pair is queued, so UNUSED pieces can be re-split afterwards (may be null). */
  readonly onPair: ((merged: number, left: number, right: number) => void) | null;
}

const SMALL = 48;
const LARGE = 1024;

/**
 * Merges `sym[0, n)` (with code-unit lengths `len`) in place. On return the surviving symbols are
 * those with `len[i] > 0`, in order. `sym`/`len` need capacity `n`.
 */
export function mergeSymbols(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  if (n < 2) return;
  if (n <= SMALL) mergeSmall(table, sym, len, n);
  else if (n <= LARGE) mergeWithHeap(table, sym, len, n);
  else mergeWithBuckets(table, sym, len, n);
}

function lookup(table: MergeTable, a: number, b: number): number {
  if (a < 0 || b < 0) return -1;
  const m = table.pairs.get(a, b);
  if (m >= 0 && table.onPair) table.onPair(m, a, b);
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
    sym[li] = table.results ? table.results[pairMerged[best]!]! : pairMerged[best]!;
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

// The heap holds only priorities `rank * 2^32 + left` (smaller is better: higher score, then
// leftmost). `mergedAt[l]` is the merge for the pair now starting at `l`; it is refreshed whenever
// `l` or its right neighbour changes (both cases push `l` again), so a popped entry is acted on when
// `mergedAt[left]` still has the entry's rank. A stale entry can only pass that check when the
// current pair has the same priority, and then merging it is what its own equal entry would do.
const SHIFT = 2 ** 32;

// Heap helpers are top-level functions on explicit arguments: closures over a mutated `size`
// would force it into a context object and slow every access in the hot loop.
function siftDown(heap: Float64Array, size: number, i: number, value: number): void {
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && heap[c + 1]! < heap[c]!) c++;
    const hc = heap[c]!;
    if (hc >= value) break;
    heap[i] = hc;
    i = c;
  }
  heap[i] = value;
}

function siftUp(heap: Float64Array, i: number, value: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent]!;
    if (p <= value) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = value;
}

function mergeWithHeap(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const mergedAt = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const ranks = table.ranks;
  const results = table.results;
  const heap = new Float64Array(3 * n);
  let size = 0;

  // Initial pairs: fill, then heapify bottom-up in O(n).
  for (let i = 0; i + 1 < n; i++) {
    const merged = lookup(table, sym[i]!, sym[i + 1]!);
    mergedAt[i] = merged;
    if (merged >= 0) heap[size++] = ranks[merged]! * SHIFT + i;
  }
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(heap, size, i, heap[i]!);

  while (size > 0) {
    const top = heap[0]!;
    const last = heap[--size]!;
    if (size > 0) siftDown(heap, size, 0, last);
    const rank = Math.floor(top / SHIFT);
    const l = top - rank * SHIFT;
    const m = mergedAt[l]!;
    if (len[l] === 0 || m < 0 || ranks[m] !== rank) continue;
    const r = next[l]!;
    sym[l] = results ? results[m]! : m;
    len[l]! += len[r]!;
    len[r] = 0;
    const after = next[r]!;
    next[l] = after;
    if (after >= 0) prev[after] = l;
    // The pairs that changed: (prev, l) and (l, after).
    const p = prev[l]!;
    if (p >= 0) {
      const pm = lookup(table, sym[p]!, sym[l]!);
      mergedAt[p] = pm;
      if (pm >= 0) siftUp(heap, size++, ranks[pm]! * SHIFT + p);
    }
    const lm = after >= 0 ? lookup(table, sym[l]!, sym[after]!) : -1;
    mergedAt[l] = lm;
    if (lm >= 0) siftUp(heap, size++, ranks[lm]! * SHIFT + l);
  }
}

// For long inputs one big heap thrashes the cache (every pop walks ~20 levels of a multi-MB array).
// Instead: one small min-heap of positions per rank, and a min-heap of the ranks that have entries.
// Pops take the smallest position of the smallest rank: the same order as the single heap.
function heapPushInt(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = h[parent]!;
    if (p <= v) break;
    h[i] = p;
    i = parent;
  }
  h[i] = v;
}

function heapPopInt(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  const size = h.length;
  if (size > 0) {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && h[c + 1]! < h[c]!) c++;
      const hc = h[c]!;
      if (hc >= last) break;
      h[i] = hc;
      i = c;
    }
    h[i] = last;
  }
  return top;
}

function mergeWithBuckets(table: MergeTable, sym: Int32Array, len: Int32Array, n: number): void {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const mergedAt = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const ranks = table.ranks;
  const results = table.results;
  const buckets = new Map<number, number[]>();
  const liveRanks: number[] = [];
  const add = (rank: number, left: number): void => {
    let b = buckets.get(rank);
    if (b === undefined) buckets.set(rank, (b = []));
    if (b.length === 0) heapPushInt(liveRanks, rank);
    heapPushInt(b, left);
  };
  for (let i = 0; i + 1 < n; i++) {
    const m = lookup(table, sym[i]!, sym[i + 1]!);
    mergedAt[i] = m;
    if (m >= 0) add(ranks[m]!, i);
  }
  while (liveRanks.length > 0) {
    const rank = liveRanks[0]!;
    const bucket = buckets.get(rank)!;
    const l = heapPopInt(bucket);
    if (bucket.length === 0) heapPopInt(liveRanks);
    const m = mergedAt[l]!;
    if (len[l] === 0 || m < 0 || ranks[m] !== rank) continue;
    const r = next[l]!;
    sym[l] = results ? results[m]! : m;
    len[l]! += len[r]!;
    len[r] = 0;
    const after = next[r]!;
    next[l] = after;
    if (after >= 0) prev[after] = l;
    const p = prev[l]!;
    if (p >= 0) {
      const pm = lookup(table, sym[p]!, sym[l]!);
      mergedAt[p] = pm;
      if (pm >= 0) add(ranks[pm]!, p);
    }
    const lm = after >= 0 ? lookup(table, sym[l]!, sym[after]!) : -1;
    mergedAt[l] = lm;
    if (lm >= 0) add(ranks[lm]!, l);
  }
}

/** Dense ranks of `scores` (0 = highest; equal scores share a rank). */
export function scoreRanks(scores: Float32Array): Int32Array {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  const ranks = new Int32Array(scores.length);
  let rank = 0;
  order.forEach((id, k) => {
    if (k > 0 && scores[id] !== scores[order[k - 1]!]) rank++;
    ranks[id] = rank;
  });
  return ranks;
}
