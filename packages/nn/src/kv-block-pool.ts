/**
 * `KvBlockPool`: the host-side bookkeeping of a paged KV cache (vLLM's block manager). Positions of every sequence
 * live in fixed-size blocks of one pool; each sequence owns a block table (block ids in position order). Blocks are
 * reference-counted so that sequences sharing a prompt prefix share its full blocks (prefix caching): each full
 * block is registered under a hash of its token ids chained with its predecessors' hash, and a new sequence whose
 * prompt starts with the same full blocks takes them instead of recomputing them. A block whose last user leaves
 * stays cached (evictable, oldest first) until its memory is needed. No tensors here: the pool only decides where
 * positions go; `PagedKvCache` holds the device memory.
 *
 * Below block granularity (SGLang's radix cache reuses any shared token prefix; vLLM copies blocks on write): where
 * a prompt's chain of cached full blocks stops, a registered block with the same predecessor whose ids start like
 * the prompt's next block lends its first `k` positions. The new sequence gets a fresh block for that range and a
 * {@link BlockCopy} (source, destination, `k`), which stays pending until the owner of the device memory takes it
 * ({@link KvBlockPool.takeCopies}): `forwardPaged` takes and runs every pending copy at its start, before any of that
 * forward's writes, whichever sequences it carries. The source stays referenced by the new sequence until that
 * sequence's first commit (or its close), so it cannot be evicted, reallocated and overwritten before its copy ran.
 *
 * @module
 */

interface SequenceBlocks {
  /** Block ids, position order. */
  blocks: number[];
  /** Tokens whose keys/values are in the blocks (positions [0, tokens.length)). */
  tokens: number[];
  /** Hash of each full block of `tokens` registered so far (chain order). */
  hashes: string[];
}

/** Copy the first `positions` positions of block `source` into block `destination` (every layer's keys and values). */
export interface BlockCopy {
  /** The sequence that was opened with the copy. */
  seq: number;
  /** A registered (full, committed) block. */
  source: number;
  /** The new sequence's fresh block at the same position range. */
  destination: number;
  /** Positions to copy, 1 … blockSize − 1. */
  positions: number;
}

/** What {@link KvBlockPool.lookupPrefix} finds: shared full blocks, and a partial block to copy after them. */
export interface PrefixHit {
  /** Cached full blocks, position order. */
  blocks: number[];
  /** Positions reused: `blocks.length · blockSize`, plus `copy.positions` when there is a copy. */
  tokens: number;
  /** Chain hash of each full block. */
  hashes: string[];
  /** A registered block whose first `positions` ids equal the prompt's next ones (absent: none). */
  copy?: { source: number; positions: number };
}

/** FNV-1a over the previous block's hash and this block's ids, two 32-bit lanes, as one key. */
function chainHash(previous: string, ids: readonly number[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ previous.length;
  const mix = (x: number) => {
    a = Math.imul(a ^ (x & 0xffff), 0x01000193);
    a = Math.imul(a ^ (x >>> 16), 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
    b ^= b >>> 15;
  };
  for (let i = 0; i < previous.length; i++) mix(previous.charCodeAt(i));
  for (const id of ids) mix(id | 0);
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}

/** Block accounting, reference counts and the prefix cache of a paged KV cache. */
export class KvBlockPool {
  /** Blocks in the pool. */
  readonly numBlocks: number;
  /** Positions per block. */
  readonly blockSize: number;
  private readonly refs: Int32Array;
  /** Never-used or evicted blocks (a stack). */
  private readonly empty: number[];
  /** Free blocks that still hold a registered prefix: block → its hash, oldest first (evicted in this order). */
  private readonly evictable = new Map<number, string>();
  /** Registered full blocks: hash → block, and the ids each holds (checked on lookup, so a collision cannot alias). */
  private readonly byHash = new Map<string, number>();
  private readonly blockIds = new Map<number, { hash: string; previous: string; ids: number[] }>();
  /** Registered blocks by their predecessor's chain hash ('' for a first block): the candidates of a partial copy. */
  private readonly byPrevious = new Map<string, Set<number>>();
  private readonly sequences = new Map<number, SequenceBlocks>();
  /** Copies not yet taken by the device side, by the sequence opened with them (insertion order). */
  private readonly copies = new Map<number, BlockCopy>();
  /** Sequence → the copy source it holds a reference on until its first commit or close. */
  private readonly pins = new Map<number, number>();

  /** A pool of `numBlocks` blocks of `blockSize` positions. */
  constructor(numBlocks: number, blockSize: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1 || !Number.isInteger(blockSize) || blockSize < 1) {
      throw new Error(`KvBlockPool: numBlocks (${numBlocks}) and blockSize (${blockSize}) must be positive integers`);
    }
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.refs = new Int32Array(numBlocks);
    this.empty = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  /** Blocks no sequence holds (empty or holding an evictable cached prefix). */
  get freeBlocks(): number {
    return this.empty.length + this.evictable.size;
  }

  /** Blocks held by at least one sequence. */
  get usedBlocks(): number {
    return this.numBlocks - this.freeBlocks;
  }

  /** Free blocks that still hold a cached prefix. */
  get cachedBlocks(): number {
    return this.evictable.size;
  }

  /** Sequences open in the pool. */
  get sequenceCount(): number {
    return this.sequences.size;
  }

  /** Blocks needed to hold `positions` positions. */
  blocksFor(positions: number): number {
    return Math.ceil(positions / this.blockSize);
  }

  /** Whether sequence `id` is open. */
  has(id: number): boolean {
    return this.sequences.has(id);
  }

  /** Block ids of sequence `id` in position order. */
  table(id: number): readonly number[] {
    return this.get(id, 'table').blocks;
  }

  /** Positions sequence `id` has blocks for. */
  capacity(id: number): number {
    return this.get(id, 'capacity').blocks.length * this.blockSize;
  }

  /** Positions of sequence `id` whose keys/values are written (its committed tokens). */
  length(id: number): number {
    return this.get(id, 'length').tokens.length;
  }

  /**
   * The cached prefix a sequence starting with `tokens` would reuse, at most `maxTokens` positions' worth: its chain of
   * cached full blocks and, where the chain stops, the longest partial match `k` (1 ≤ k < blockSize) among registered
   * blocks with the same predecessor (`copy`). Changes nothing.
   */
  lookupPrefix(tokens: readonly number[], maxTokens = tokens.length): PrefixHit {
    const blocks: number[] = [];
    const hashes: string[] = [];
    let previous = '';
    const bs = this.blockSize;
    const limit = Math.min(maxTokens, tokens.length);
    for (let j = 0; (j + 1) * bs <= limit; j++) {
      const ids = tokens.slice(j * bs, (j + 1) * bs);
      const hash = chainHash(previous, ids);
      const block = this.byHash.get(hash);
      const held = block === undefined ? undefined : this.blockIds.get(block);
      if (block === undefined || held === undefined || held.ids.some((x, i) => x !== ids[i])) break;
      blocks.push(block);
      hashes.push(hash);
      previous = hash;
    }
    const full = blocks.length * bs;
    const copy = this.partialMatch(previous, tokens, full, Math.min(bs - 1, limit - full));
    return { blocks, tokens: full + (copy?.positions ?? 0), hashes, ...(copy ? { copy } : {}) };
  }

  /**
   * The registered block after predecessor `previous` sharing the longest prefix (≤ `most` ids) with
   * `tokens[start…]`; undefined when none shares one. Scans only that predecessor's blocks; the oldest wins a tie.
   */
  private partialMatch(
    previous: string,
    tokens: readonly number[],
    start: number,
    most: number,
  ): { source: number; positions: number } | undefined {
    const candidates = most >= 1 ? this.byPrevious.get(previous) : undefined;
    if (!candidates) return undefined;
    let best: { source: number; positions: number } | undefined;
    for (const block of candidates) {
      const ids = this.blockIds.get(block)!.ids;
      let k = 0;
      while (k < most && ids[k] === tokens[start + k]) k++;
      if (k > (best?.positions ?? 0)) best = { source: block, positions: k };
      if (k === most) break;
    }
    return best;
  }

  /**
   * New blocks (beyond cached prefix blocks it would share) a sequence starting with `tokens` needs to hold
   * `positions` positions; compare with {@link freeBlocks} for admission. Shared blocks that are currently free
   * (cached, evictable) count as needed too, since taking them removes them from the free count, and so does a free
   * copy source (held until the copy has run).
   */
  blocksToAdmit(tokens: readonly number[], positions: number, maxReuse = tokens.length): number {
    const hit = this.lookupPrefix(tokens, maxReuse);
    const revived = hit.blocks.filter((b) => this.refs[b] === 0).length;
    const source = hit.copy && this.refs[hit.copy.source] === 0 ? 1 : 0;
    return this.blocksFor(positions) - hit.blocks.length + revived + source;
  }

  /**
   * Opens sequence `id`. With `tokens`, it shares the cached full blocks of their prefix (at most `maxReuse`
   * positions) and, where those stop, copies the longest matching start of a registered block into a fresh block of
   * its own (a pending {@link BlockCopy}; skipped when no block is free for it). Returns how many positions it
   * reused; their keys/values need no recomputation once the copy has run.
   */
  open(id: number, tokens: readonly number[] = [], maxReuse = tokens.length): number {
    if (this.sequences.has(id)) throw new Error(`KvBlockPool.open: sequence ${id} is already open`);
    const hit = this.lookupPrefix(tokens, maxReuse);
    for (const b of hit.blocks) this.take(b);
    let reused = hit.blocks.length * this.blockSize;
    const blocks = hit.blocks;
    // The copy needs a block for its destination besides its source (which it takes from the free ones if cached).
    if (hit.copy && this.freeBlocks > (this.refs[hit.copy.source] === 0 ? 1 : 0)) {
      const { source, positions } = hit.copy;
      this.take(source);
      const destination = this.allocate();
      blocks.push(destination);
      this.copies.set(id, { seq: id, source, destination, positions });
      this.pins.set(id, source);
      reused += positions;
    }
    this.sequences.set(id, { blocks, tokens: tokens.slice(0, reused), hashes: hit.hashes });
    return reused;
  }

  /**
   * Takes the pending copies (oldest first): the caller runs them on the device before any write of its next forward
   * (`PagedKvCache.runPendingCopies`, which `forwardPaged` calls). A copy whose sequence commits or closes before it
   * is taken is dropped (a pool with no device behind it, e.g. a scheduler's copy of the engine's pool).
   */
  takeCopies(): BlockCopy[] {
    const out = [...this.copies.values()];
    this.copies.clear();
    return out;
  }

  /** Copies opened and not yet taken. */
  get pendingCopies(): number {
    return this.copies.size;
  }

  /**
   * Makes sequence `id` hold blocks for `positions` positions. Returns false, allocating nothing, when the pool has
   * too few free blocks (the caller queues, preempts or refuses).
   */
  grow(id: number, positions: number): boolean {
    const seq = this.get(id, 'grow');
    const more = this.blocksFor(positions) - seq.blocks.length;
    if (more <= 0) return true;
    if (more > this.freeBlocks) return false;
    for (let i = 0; i < more; i++) seq.blocks.push(this.allocate());
    return true;
  }

  /**
   * Records that positions [start, start + ids.length) of sequence `id` now hold the keys/values of `ids` (chunks
   * arrive in order: `start` is the sequence's length), and registers every block this completes in the prefix
   * cache.
   */
  commit(id: number, start: number, ids: readonly number[]): void {
    const seq = this.get(id, 'commit');
    if (start !== seq.tokens.length) {
      throw new Error(
        `KvBlockPool.commit: sequence ${id} holds ${seq.tokens.length} positions, chunk starts at ${start}`,
      );
    }
    if (start + ids.length > seq.blocks.length * this.blockSize) {
      throw new Error(
        `KvBlockPool.commit: sequence ${id} has blocks for ${seq.blocks.length * this.blockSize} positions, not ${start + ids.length}`,
      );
    }
    // The sequence's first forward ran its copy (at that forward's start): its source may go.
    this.unpin(id);
    for (const x of ids) seq.tokens.push(x);
    const bs = this.blockSize;
    for (let j = seq.hashes.length; (j + 1) * bs <= seq.tokens.length; j++) {
      const blockIds = seq.tokens.slice(j * bs, (j + 1) * bs);
      const hash = chainHash(seq.hashes[j - 1] ?? '', blockIds);
      seq.hashes.push(hash);
      const block = seq.blocks[j]!;
      // First writer wins: an identical block computed by another sequence stays the registered one.
      if (!this.byHash.has(hash) && !this.blockIds.has(block)) {
        const previous = seq.hashes[j - 1] ?? '';
        this.byHash.set(hash, block);
        this.blockIds.set(block, { hash, previous, ids: blockIds });
        const siblings = this.byPrevious.get(previous);
        if (siblings) siblings.add(block);
        else this.byPrevious.set(previous, new Set([block]));
      }
    }
  }

  /** Closes sequence `id`: each of its blocks loses one user; unshared ones become free (cached ones evictable). */
  close(id: number): void {
    const seq = this.get(id, 'close');
    this.sequences.delete(id);
    this.unpin(id);
    // Later blocks first, so under memory pressure a prefix's tail is evicted before its head.
    for (let j = seq.blocks.length - 1; j >= 0; j--) this.release(seq.blocks[j]!);
  }

  /** Drops sequence `id`'s copy (if still pending) and its reference on the copy's source. */
  private unpin(id: number): void {
    this.copies.delete(id);
    const source = this.pins.get(id);
    if (source === undefined) return;
    this.pins.delete(id);
    this.release(source);
  }

  private get(id: number, op: string): SequenceBlocks {
    const seq = this.sequences.get(id);
    if (!seq) throw new Error(`KvBlockPool.${op}: no open sequence ${id}`);
    return seq;
  }

  /** One more user of block `b` (reviving it from the evictable set). */
  private take(b: number): void {
    if (this.refs[b] === 0) this.evictable.delete(b);
    this.refs[b]!++;
  }

  /** One user fewer of block `b`; without users it becomes free (evictable when it holds a registered prefix). */
  private release(b: number): void {
    if (--this.refs[b]! > 0) return;
    const cached = this.blockIds.get(b);
    if (cached) this.evictable.set(b, cached.hash);
    else this.empty.push(b);
  }

  /** A fresh block for one user: an empty one, else the oldest evictable one (its prefix entry dropped). */
  private allocate(): number {
    let b = this.empty.pop();
    if (b === undefined) {
      const oldest = this.evictable.keys().next();
      if (oldest.done) throw new Error('KvBlockPool: no free block (grow checks first)');
      b = oldest.value;
      this.evictable.delete(b);
      const cached = this.blockIds.get(b)!;
      this.blockIds.delete(b);
      this.byHash.delete(cached.hash);
      const siblings = this.byPrevious.get(cached.previous)!;
      siblings.delete(b);
      if (siblings.size === 0) this.byPrevious.delete(cached.previous);
    }
    this.refs[b] = 1;
    return b;
  }
}
