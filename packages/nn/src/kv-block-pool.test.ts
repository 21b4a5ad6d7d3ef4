import { describe, expect, it } from 'vitest';
import { KvBlockPool } from './kv-block-pool.js';

/** A small deterministic generator (LCG), so the random walk is the same on every run. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe('KvBlockPool', () => {
  it('never leaks or double-counts blocks over a random walk of opens, growth, commits and closes', () => {
    const pool = new KvBlockPool(23, 3);
    const rand = lcg(4);
    const system = [5, 6, 7, 8, 9, 10, 11];
    const open = new Map<number, number[]>(); // id → the tokens it will hold
    const pins = new Map<number, number>(); // id → the copy source it holds until its first commit
    let next = 0;
    for (let step = 0; step < 2000; step++) {
      const action = rand(4);
      if (action === 0 && open.size < 6) {
        // Half the sequences start with the shared system prompt.
        const tokens = [...(rand(2) ? system : []), ...Array.from({ length: 1 + rand(12) }, () => rand(50))];
        const hit = pool.lookupPrefix(tokens, tokens.length - 1);
        const reused = pool.open(next, tokens, tokens.length - 1);
        // Whole blocks, plus the start of a partial one (its source held until the first commit) unless the pool
        // had no block left to copy it into.
        const copied = reused === hit.tokens;
        expect(reused).toBe(copied ? hit.tokens : hit.tokens - hit.copy!.positions);
        expect(reused).toBeLessThan(tokens.length);
        if (hit.copy && copied) pins.set(next, hit.copy.source);
        expect(pool.length(next)).toBe(reused);
        open.set(next++, tokens);
      } else if (action === 1 && open.size > 0) {
        const id = [...open.keys()][rand(open.size)]!;
        pool.close(id);
        open.delete(id);
        pins.delete(id);
      } else if (open.size > 0) {
        // Extend a sequence by a chunk, when blocks allow (as a scheduler would; else it stays as it is).
        const id = [...open.keys()][rand(open.size)]!;
        const tokens = open.get(id)!;
        const have = pool.length(id);
        const n = 1 + rand(5);
        while (tokens.length < have + n) tokens.push(rand(50));
        if (pool.grow(id, have + n)) {
          pool.commit(id, have, tokens.slice(have, have + n));
          pins.delete(id);
        }
      }
      // Invariant: used blocks are exactly the distinct blocks of open sequences; used + free = all.
      const held = new Set([...open.keys()].flatMap((id) => [...pool.table(id)]));
      for (const source of pins.values()) held.add(source);
      expect(pool.usedBlocks).toBe(held.size);
      expect(pool.usedBlocks + pool.freeBlocks).toBe(23);
      for (const id of open.keys()) expect(pool.capacity(id)).toBeGreaterThanOrEqual(pool.length(id));
    }
    for (const id of open.keys()) pool.close(id);
    expect([pool.usedBlocks, pool.freeBlocks, pool.sequenceCount]).toEqual([0, 23, 0]);
  });

  it('shares full prefix blocks by reference count, keeps them cached after the last user, evicts the oldest', () => {
    const pool = new KvBlockPool(4, 2);
    pool.open(1);
    pool.grow(1, 5);
    pool.commit(1, 0, [1, 2, 3, 4, 5]); // blocks: [1 2] [3 4] [5 _]
    expect(pool.lookupPrefix([1, 2, 3, 4, 9]).tokens).toBe(4);
    expect(pool.lookupPrefix([1, 2, 3, 9]).tokens).toBe(3); // [1 2] whole, then 3 of [3 4] (a copy)
    expect(pool.lookupPrefix([7, 2, 3, 4]).tokens).toBe(0);
    // Sharing two blocks takes none from the free count while their owner holds them.
    expect(pool.blocksToAdmit([1, 2, 3, 4, 6], 5)).toBe(1);
    expect(pool.open(2, [1, 2, 3, 4, 6])).toBe(4);
    expect(pool.usedBlocks).toBe(3);
    pool.close(1);
    expect(pool.usedBlocks).toBe(2); // the shared two stay, A's third block is free
    pool.close(2);
    expect([pool.freeBlocks, pool.cachedBlocks]).toEqual([4, 2]);
    // The cached prefix revives for a later sequence; reviving a free cached block counts against the free blocks.
    expect(pool.blocksToAdmit([1, 2, 3, 4, 8, 8], 6)).toBe(3);
    expect(pool.open(3, [1, 2, 3, 4, 8, 8])).toBe(4);
    pool.close(3);
    // A sequence needing the whole pool evicts the cached blocks (the tail block first), and the prefix is gone.
    pool.open(4);
    expect(pool.grow(4, 8)).toBe(true);
    expect(pool.lookupPrefix([1, 2, 3, 4]).tokens).toBe(0);
    expect(pool.grow(4, 9)).toBe(false);
    pool.close(4);
    expect(pool.freeBlocks).toBe(4);
  });

  it('names the sequence in its errors', () => {
    const pool = new KvBlockPool(2, 4);
    expect(() => pool.table(3)).toThrow(/no open sequence 3/);
    pool.open(3);
    expect(() => pool.open(3)).toThrow(/sequence 3 is already open/);
    expect(() => pool.commit(3, 1, [1])).toThrow(/sequence 3 holds 0 positions, chunk starts at 1/);
    expect(() => pool.commit(3, 0, [1])).toThrow(/sequence 3 has blocks for 0 positions, not 1/);
    expect(() => new KvBlockPool(0, 4)).toThrow(/must be positive integers/);
  });
});
