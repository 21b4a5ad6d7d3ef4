/**
 * Data parallelism over several engines (replicas of one model, each with its own KV cache, e.g. `WorkerEngine`s
 * on separate cores): every sequence lives on one shard, chosen when it opens (the shard holding the fewest sequences,
 * then the one with the most free blocks, then the first), and a step runs each shard's chunks on that shard, all
 * shards at once. One scheduler drives it like a single engine. On the CPU backend a step is single-threaded, so a
 * batch of 16 split over two workers runs as two batches of 8 side by side on two cores; a single sequence uses
 * one shard, as before.
 *
 * @module
 */
import type { Engine, KvBlocks, StepChunk, StepResult } from './engine.js';

/** The shards' pools seen as one: a new sequence's questions are answered by the shard it would open on. */
class ShardedBlocks implements KvBlocks {
  /** Sequence id → its shard. */
  readonly shardOf = new Map<number, number>();

  constructor(private readonly shards: readonly KvBlocks[]) {}

  get numBlocks(): number {
    return this.shards.reduce((n, s) => n + s.numBlocks, 0);
  }

  get blockSize(): number {
    return this.shards[0]!.blockSize;
  }

  get freeBlocks(): number {
    return this.shards.reduce((n, s) => n + s.freeBlocks, 0);
  }

  get usedBlocks(): number {
    return this.shards.reduce((n, s) => n + s.usedBlocks, 0);
  }

  get cachedBlocks(): number {
    return this.shards.reduce((n, s) => n + s.cachedBlocks, 0);
  }

  /** Free blocks of the shard the next sequence opens on: what an admission can take. */
  admissionFreeBlocks(): number {
    return this.shards[this.next()]!.freeBlocks;
  }

  /** The shard the next sequence opens on: the one holding the fewest sequences, then the most free blocks. */
  next(): number {
    const count = this.shards.map(() => 0);
    for (const s of this.shardOf.values()) count[s]!++;
    let best = 0;
    for (let i = 1; i < this.shards.length; i++) {
      const fewer = count[i]! < count[best]!;
      const roomier = count[i] === count[best] && this.shards[i]!.freeBlocks > this.shards[best]!.freeBlocks;
      if (fewer || roomier) best = i;
    }
    return best;
  }

  blocksFor(positions: number): number {
    return this.shards[0]!.blocksFor(positions);
  }

  lookupPrefix(tokens: readonly number[], maxTokens?: number): { tokens: number } {
    return this.shards[this.next()]!.lookupPrefix(tokens, maxTokens);
  }

  blocksToAdmit(tokens: readonly number[], positions: number, maxReuse?: number): number {
    return this.shards[this.next()]!.blocksToAdmit(tokens, positions, maxReuse);
  }

  open(id: number, tokens?: readonly number[], maxReuse?: number): number {
    if (this.shardOf.has(id)) throw new Error(`ShardedEngine: sequence ${id} is already open`);
    const shard = this.next();
    const reused = this.shards[shard]!.open(id, tokens, maxReuse);
    this.shardOf.set(id, shard);
    return reused;
  }

  has(id: number): boolean {
    return this.shardOf.has(id);
  }

  grow(id: number, positions: number): boolean {
    return this.of(id, 'grow').grow(id, positions);
  }

  length(id: number): number {
    return this.of(id, 'length').length(id);
  }

  close(id: number): void {
    this.of(id, 'close').close(id);
    this.shardOf.delete(id);
  }

  private of(id: number, op: string): KvBlocks {
    const shard = this.shardOf.get(id);
    if (shard === undefined) throw new Error(`ShardedEngine.${op}: no open sequence ${id}`);
    return this.shards[shard]!;
  }
}

/** One engine over several shards (see the module comment). */
export class ShardedEngine implements Engine {
  readonly vocabSize: number;
  readonly maxContext: number;
  /** Every shard steps off this thread. */
  readonly stepsOffThread: boolean;
  private readonly sharded: ShardedBlocks;

  /** `maxSlots` bounds the batch over all shards (default: the first shard's). */
  constructor(
    readonly shards: readonly Engine[],
    readonly maxSlots = shards[0]?.maxSlots ?? 0,
  ) {
    if (shards.length === 0) throw new Error('ShardedEngine: needs at least one shard');
    const first = shards[0]!;
    for (const s of shards) {
      if (s.vocabSize !== first.vocabSize || s.maxContext !== first.maxContext) {
        throw new Error(
          `ShardedEngine: shards differ (vocab ${s.vocabSize} vs ${first.vocabSize}, context ${s.maxContext} vs ${first.maxContext})`,
        );
      }
    }
    this.vocabSize = first.vocabSize;
    this.maxContext = first.maxContext;
    this.stepsOffThread = shards.every((s) => s.stepsOffThread === true);
    this.sharded = new ShardedBlocks(shards.map((s) => s.blocks));
  }

  get blocks(): KvBlocks {
    return this.sharded;
  }

  async step(chunks: readonly StepChunk[]): Promise<StepResult[]> {
    const parts: { at: number[]; chunks: StepChunk[] }[] = this.shards.map(() => ({ at: [], chunks: [] }));
    chunks.forEach((c, i) => {
      if (!this.sharded.has(c.seq)) this.sharded.open(c.seq);
      const part = parts[this.sharded.shardOf.get(c.seq)!]!;
      part.at.push(i);
      part.chunks.push(c);
    });
    const out: StepResult[] = new Array(chunks.length);
    // Every shard's step settles before the first failure is thrown, so none is still running at the next step.
    const settled = await Promise.allSettled(
      parts.map(async (part, s) => {
        if (part.chunks.length === 0) return;
        const results = await this.shards[s]!.step(part.chunks);
        part.at.forEach((i, j) => {
          out[i] = results[j]!;
        });
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return out;
  }

  release(seq: number): void {
    if (this.sharded.has(seq)) this.sharded.close(seq);
  }

  dispose(): void {
    for (const s of this.shards) s.dispose();
  }
}
