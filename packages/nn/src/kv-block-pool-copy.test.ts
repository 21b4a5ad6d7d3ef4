import { describe, expect, it } from 'vitest';
import { KvBlockPool } from './kv-block-pool.js';

/** A small deterministic generator (LCG), so the random walks are the same on every run. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/**
 * Brute force over every token stream committed so far (no eviction): the positions a prompt can reuse. Full blocks:
 * the most whole blocks of `prompt` that some stream committed as its own start. Then a partial block: the longest
 * common prefix of the prompt's next block with the same block of a stream that shares those full blocks and
 * committed that block whole, below blockSize, within `maxReuse`.
 */
function expectedReuse(history: readonly number[][], prompt: readonly number[], bs: number, maxReuse: number): number {
  const limit = Math.min(maxReuse, prompt.length);
  const sharesStart = (t: readonly number[], n: number) =>
    t.length >= n && prompt.slice(0, n).every((x, i) => x === t[i]);
  let full = 0;
  while ((full + 1) * bs <= limit && history.some((t) => sharesStart(t, (full + 1) * bs))) full++;
  const start = full * bs;
  const most = Math.min(bs - 1, limit - start);
  let k = 0;
  for (const t of history) {
    if (t.length < start + bs || !sharesStart(t, start)) continue;
    let n = 0;
    while (n < most && t[start + n] === prompt[start + n]) n++;
    k = Math.max(k, n);
  }
  return start + k;
}

/** A prompt: a random-length start of a random earlier stream (or none), then fresh random ids. */
function sharedPrompt(rand: (n: number) => number, history: readonly number[][], vocab: number): number[] {
  const base = history.length > 0 && rand(4) > 0 ? history[rand(history.length)]! : [];
  const shared = base.slice(0, rand(base.length + 1));
  return [...shared, ...Array.from({ length: 1 + rand(9) }, () => rand(vocab))];
}

describe('KvBlockPool partial-block copies', () => {
  for (const bs of [5, 7]) {
    it(`reuses the longest shared prefix the rules allow (block size ${bs}, random streams)`, () => {
      const pool = new KvBlockPool(400, bs); // never evicts here, so every committed block stays findable
      const rand = lcg(11 + bs);
      const history: number[][] = [];
      let partials = 0;
      for (let id = 0; id < 120; id++) {
        // A small vocabulary, so partial matches of every length arise by chance too.
        const prompt = sharedPrompt(rand, history, 6);
        const maxReuse = rand(5) === 0 ? rand(prompt.length + 1) : prompt.length - 1;
        const want = expectedReuse(history, prompt, bs, maxReuse);
        const hit = pool.lookupPrefix(prompt, maxReuse);
        expect(hit.tokens, `sequence ${id}`).toBe(want);
        expect(pool.open(id, prompt, maxReuse)).toBe(want);
        if (want % bs !== 0) partials++;
        const copies = pool.takeCopies();
        expect(copies.length).toBe(want % bs === 0 ? 0 : 1);
        for (const c of copies) {
          // The copy names the new sequence's block at that position range and a block holding the same ids.
          expect(c).toEqual({
            seq: id,
            source: hit.copy!.source,
            destination: pool.table(id)[Math.floor(want / bs)],
            positions: want % bs,
          });
        }
        expect(pool.grow(id, prompt.length)).toBe(true);
        pool.commit(id, want, prompt.slice(want));
        history.push(prompt);
        if (rand(2)) pool.close(id);
      }
      expect(partials).toBeGreaterThan(20);
    });
  }

  it('copies hold the right ids when run late, under eviction pressure, with consistent reference counts', () => {
    for (const [bs, numBlocks, seed] of [
      [5, 19, 1],
      [7, 13, 2],
      [3, 29, 3],
    ] as const) {
      const pool = new KvBlockPool(numBlocks, bs);
      const rand = lcg(seed);
      // The device as the pool's owner sees it: block → the id written at each of its positions.
      const device = new Map<number, (number | undefined)[]>();
      const slot = (b: number) => device.get(b) ?? device.set(b, []).get(b)!;
      const open = new Map<number, number[]>(); // id → its whole token stream
      const pins = new Map<number, number>(); // id → copy source it holds until its first commit
      const history: number[][] = [];
      let next = 0;
      let copied = 0;
      for (let step = 0; step < 1500; step++) {
        const action = rand(5);
        if (action === 0 && open.size < 5) {
          const tokens = [...sharedPrompt(rand, history, 5), ...Array.from({ length: rand(8) }, () => rand(5))];
          const hit = pool.lookupPrefix(tokens, tokens.length - 1);
          if (pool.blocksToAdmit(tokens, tokens.length, tokens.length - 1) > pool.freeBlocks) continue;
          const free = pool.freeBlocks;
          const needed = pool.blocksToAdmit(tokens, tokens.length, tokens.length - 1);
          expect(pool.open(next, tokens, tokens.length - 1)).toBe(hit.tokens);
          if (hit.copy) pins.set(next, hit.copy.source);
          expect(pool.grow(next, tokens.length)).toBe(true);
          // Admission's count is exactly what opening and growing took from the free blocks.
          expect(free - pool.freeBlocks).toBe(needed);
          open.set(next++, tokens);
        } else if (action === 1 && open.size > 0) {
          const id = [...open.keys()][rand(open.size)]!;
          history.push(open.get(id)!.slice(0, pool.length(id)));
          pool.close(id);
          open.delete(id);
          pins.delete(id);
        } else if (open.size > 0) {
          // A forward of a random subset: blocks first (they may evict), then the copies, then reads and writes.
          const ids = [...open.keys()].filter(() => rand(2) === 1);
          const chunks = ids.flatMap((id) => {
            const tokens = open.get(id)!;
            const have = pool.length(id);
            const n = 1 + rand(4);
            while (tokens.length < have + n) tokens.push(rand(5));
            return pool.grow(id, have + n) ? [{ id, start: have, ids: tokens.slice(have, have + n) }] : [];
          });
          for (const c of pool.takeCopies()) {
            const from = slot(c.source);
            for (let p = 0; p < c.positions; p++) slot(c.destination)[p] = from[p];
            copied++;
          }
          for (const c of chunks) {
            const table = pool.table(c.id);
            const tokens = open.get(c.id)!;
            // Every position the chunk attends holds its sequence's id: reused, copied or computed.
            for (let p = 0; p < c.start; p++) {
              expect(slot(table[Math.floor(p / bs)]!)[p % bs], `sequence ${c.id} position ${p}`).toBe(tokens[p]);
            }
            c.ids.forEach((x, j) => {
              const p = c.start + j;
              slot(table[Math.floor(p / bs)]!)[p % bs] = x;
            });
            pool.commit(c.id, c.start, c.ids);
            pins.delete(c.id);
          }
        }
        // Used blocks are exactly those of open sequences plus the sources of copies whose sequence has not committed.
        const held = new Set([...open.keys()].flatMap((id) => [...pool.table(id)]));
        for (const source of pins.values()) held.add(source);
        expect(pool.usedBlocks).toBe(held.size);
        expect(pool.usedBlocks + pool.freeBlocks).toBe(numBlocks);
      }
      expect(copied).toBeGreaterThan(10);
      for (const id of open.keys()) pool.close(id);
      expect([pool.usedBlocks, pool.freeBlocks, pool.pendingCopies]).toEqual([0, numBlocks, 0]);
    }
  });

  it('holds the source until the first commit, counts a free source for admission, drops copies of closed sequences', () => {
    const pool = new KvBlockPool(4, 4);
    pool.open(1);
    pool.grow(1, 8);
    pool.commit(1, 0, [1, 2, 3, 4, 5, 6, 7, 8]); // blocks [1 2 3 4] [5 6 7 8], both registered
    const [b0, b1] = pool.table(1) as [number, number];
    pool.close(1);
    expect([pool.freeBlocks, pool.cachedBlocks]).toEqual([4, 2]);
    const prompt = [1, 2, 3, 4, 5, 6, 9];
    expect(pool.lookupPrefix(prompt)).toEqual({
      blocks: [b0],
      tokens: 6,
      hashes: [expect.any(String)],
      copy: { source: b1, positions: 2 },
    });
    // Reviving the full block, holding the free source and a fresh block for positions 4–7: three of the four.
    expect(pool.blocksToAdmit(prompt, 8)).toBe(3);
    expect(pool.open(2, prompt)).toBe(6);
    expect([pool.usedBlocks, pool.pendingCopies, pool.length(2)]).toEqual([3, 1, 6]);
    // The source cannot be handed out now: the one block left is not it, and then none is.
    pool.open(3);
    expect(pool.grow(3, 4)).toBe(true);
    expect(pool.table(3)).not.toContain(b1);
    expect(pool.grow(3, 5)).toBe(false);
    pool.close(3);
    const [copy] = pool.takeCopies();
    expect(copy).toEqual({ seq: 2, source: b1, destination: pool.table(2)[1], positions: 2 });
    expect(pool.usedBlocks).toBe(3); // taken, not yet committed: still held
    pool.commit(2, 6, [9]);
    expect(pool.usedBlocks).toBe(2);
    // Prompt log-probabilities (maxReuse 0) and a maxReuse inside the partial block bound the copy.
    expect(pool.lookupPrefix(prompt, 0).tokens).toBe(0);
    expect(pool.lookupPrefix(prompt, 5)).toMatchObject({ tokens: 5, copy: { source: b1, positions: 1 } });
    expect(pool.lookupPrefix([1, 2, 3, 4, 5, 6, 7, 8], 7).tokens).toBe(7);
    // A sequence closed before its copy ran releases the source and drops the copy.
    expect(pool.open(4, [1, 2, 3, 4, 5, 7])).toBe(5);
    expect(pool.pendingCopies).toBe(1);
    pool.close(4);
    expect(pool.pendingCopies).toBe(0);
    pool.close(2);
    expect([pool.usedBlocks, pool.freeBlocks]).toEqual([0, 4]);
    // No free block for the copy's destination: the sequence opens with its full blocks only, nothing held.
    const tight = new KvBlockPool(3, 4);
    tight.open(1);
    tight.grow(1, 8);
    tight.commit(1, 0, [1, 2, 3, 4, 5, 6, 7, 8]);
    tight.open(2);
    tight.grow(2, 4);
    expect(tight.lookupPrefix(prompt).tokens).toBe(6);
    expect(tight.blocksToAdmit(prompt, 7)).toBe(1); // more than the 0 free: a scheduler would not admit it
    expect(tight.open(3, prompt)).toBe(4);
    expect([tight.pendingCopies, tight.usedBlocks, tight.table(3).length]).toEqual([0, 3, 1]);
  });
});
