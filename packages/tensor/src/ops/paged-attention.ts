/**
 * Paged attention: keys and values of many sequences live in one pool of fixed-size blocks per layer
 * (`[numBlocks, blockSize, Hkv, D]`), each sequence owning a list of block ids (its block table), as in vLLM. A step's
 * query rows, decodes and prefill chunks of any sequences mixed, first write their own keys/values straight into
 * their pool rows ({@link writePagedKv}: one in-place scatter, no copy of the cache) and then attend their sequence's
 * positions through the block table ({@link pagedAttention}). Sequences can share prefix blocks; nothing is gathered
 * into a contiguous cache.
 *
 * Inference only: these ops record no gradient. Kept apart from `scaledDotProductAttention` (training's fused,
 * differentiable kernel) on purpose: different layout, no backward.
 *
 * @module
 */
import type { PagedIndexLayout } from '../backend/backend.js';
import { tensor } from '../creation.js';
import { isGradEnabled } from '../grad-mode.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { contiguousInput, releaseContiguousInput } from './contiguous.js';
import { backendOfAnyDtype, requireDtype, requireFloat } from './inputs.js';

/** Host description of one step's paged-KV index (see {@link pagedKvIndex}). */
export interface PagedKvIndexSpec {
  /** Positions per block. */
  blockSize: number;
  /** Blocks in the pool (block ids must be below it). */
  numBlocks: number;
  /** Per sequence, the pool block ids holding its positions 0…, in order. */
  blockTables: readonly ArrayLike<number>[];
  /** Per query row, its sequence (an index into `blockTables`). */
  rowSeq: ArrayLike<number>;
  /** Per query row, its position: its key/value is written there and it attends positions [0, position]. */
  rowPositions: ArrayLike<number>;
}

/** One step's paged-KV index on the device: one int32 tensor laid out as {@link PagedIndexLayout} says. */
export interface PagedKvIndex {
  /** int32 `[3·rows + seqs·maxBlocks]`: rowSeq, rowKeys (= position + 1), rowSlot, then the block table. */
  readonly data: Tensor;
  /** Sizes of the parts. */
  readonly layout: PagedIndexLayout;
  /** Blocks of the pool this index was checked against. */
  readonly numBlocks: number;
}

/**
 * Checks a step's rows and block tables on the host and uploads them as one int32 tensor. Throws, naming the row or
 * sequence, when a sequence is out of range, a position lies beyond its sequence's blocks, a block id is outside the
 * pool, or two rows would write the same pool row.
 */
export function pagedKvIndex(spec: PagedKvIndexSpec): PagedKvIndex {
  const { blockSize, numBlocks, blockTables, rowSeq, rowPositions } = spec;
  const op = 'pagedKvIndex';
  if (!Number.isInteger(blockSize) || blockSize < 1 || !Number.isInteger(numBlocks) || numBlocks < 1) {
    throw new Error(`${op}: blockSize (${blockSize}) and numBlocks (${numBlocks}) must be positive integers`);
  }
  const rows = rowSeq.length;
  if (rowPositions.length !== rows)
    throw new Error(`${op}: ${rows} rowSeq entries but ${rowPositions.length} positions`);
  const seqs = blockTables.length;
  const maxBlocks = Math.max(1, ...blockTables.map((t) => t.length));
  const data = new Int32Array(3 * rows + seqs * maxBlocks);
  blockTables.forEach((table, s) => {
    for (let j = 0; j < table.length; j++) {
      const b = table[j] as number;
      if (!Number.isInteger(b) || b < 0 || b >= numBlocks) {
        throw new Error(`${op}: sequence ${s} block ${j} is ${b}, outside the pool [0, ${numBlocks})`);
      }
      data[3 * rows + s * maxBlocks + j] = b;
    }
  });
  const written = new Set<number>();
  for (let n = 0; n < rows; n++) {
    const s = rowSeq[n] as number;
    const p = rowPositions[n] as number;
    const table = blockTables[s];
    if (table === undefined || !Number.isInteger(s)) throw new Error(`${op}: row ${n} names sequence ${s} of ${seqs}`);
    if (!Number.isInteger(p) || p < 0 || p >= table.length * blockSize) {
      throw new Error(
        `${op}: row ${n} at position ${p} is beyond sequence ${s}'s ${table.length} blocks of ${blockSize}`,
      );
    }
    const slot = (table[Math.floor(p / blockSize)] as number) * blockSize + (p % blockSize);
    if (written.has(slot)) throw new Error(`${op}: row ${n} writes pool row ${slot}, which another row also writes`);
    written.add(slot);
    data[n] = s;
    data[rows + n] = p + 1;
    data[2 * rows + n] = slot;
  }
  return {
    data: tensor(data, [data.length], { dtype: 'int32' }),
    layout: { rows, seqs, maxBlocks, blockSize },
    numBlocks,
  };
}

function checkPool(op: string, pool: Tensor, index: PagedKvIndex, what: string): void {
  requireFloat(op, pool, what);
  const [blocks, bs] = pool.shape;
  if (
    pool.shape.length !== 4 ||
    blocks !== index.numBlocks ||
    bs !== index.layout.blockSize ||
    !pool.isWholeStorage()
  ) {
    throw new Error(
      `${op}: ${what} must be a contiguous [numBlocks=${index.numBlocks}, blockSize=${index.layout.blockSize}, Hkv, D] ` +
        `pool, got ${fmt(pool.shape)}`,
    );
  }
}

/**
 * Writes `rows [N, Hkv, D]` (row n = the key or value of the index's query row n) into `pool
 * [numBlocks, blockSize, Hkv, D]` at each row's pool slot, in place (one dispatch; every view of the pool sees it).
 * A float16 / bfloat16 pool (a half KV cache: half the memory per position) stores each value rounded to nearest
 * even, as `toType` rounds.
 */
export function writePagedKv(pool: Tensor, rows: Tensor, index: PagedKvIndex): void {
  const op = 'writePagedKv';
  // The pool may be half (checkPool checks its dtype); the rows are float32.
  const backend = backendOfAnyDtype(op, pool, rows, index.data);
  checkPool(op, pool, index, 'pool');
  requireDtype(op, rows, 'float32', 'rows');
  const [, , Hkv, D] = pool.shape as [number, number, number, number];
  if (rows.shape.length !== 3 || rows.shape[0] !== index.layout.rows || rows.shape[1] !== Hkv || rows.shape[2] !== D) {
    throw new Error(
      `${op}: rows must be [${index.layout.rows}, ${Hkv}, ${D}] for pool ${fmt(pool.shape)}, got ${fmt(rows.shape)}`,
    );
  }
  const src = contiguousInput(rows);
  backend.writePagedRows(
    pool.storage,
    { storage: src.storage, offset: src.offset, shape: [index.layout.rows, Hkv * D], strides: [Hkv * D, 1] },
    index.data,
    index.layout,
  );
  releaseContiguousInput(src, rows);
  pool.storageRef.version++; // what autograd saved of the pool is stale now, as after assign
}

/**
 * Attention of query rows `q [N, Hq, D]` over paged keys/values `kPool`, `vPool [numBlocks, blockSize, Hkv, D]`
 * (float32, or both float16 or both bfloat16: read as their values, computed in float32): row n
 * attends positions [0, position] of its sequence (as {@link pagedKvIndex} built it), softmax(q·kᵀ·scale)·v with
 * grouped-query heads (query head h reads kv head ⌊h / (Hq/Hkv)⌋). Equals `scaledDotProductAttention` with a causal
 * mask over each sequence's contiguous keys. Returns `[N, Hq, D]`; no gradient.
 */
export function pagedAttention(
  q: Tensor,
  kPool: Tensor,
  vPool: Tensor,
  index: PagedKvIndex,
  options: { scale?: number } = {},
): Tensor {
  const op = 'pagedAttention';
  const backend = backendOfAnyDtype(op, q, kPool, vPool, index.data);
  requireDtype(op, q, 'float32', 'q');
  checkPool(op, kPool, index, 'kPool');
  checkPool(op, vPool, index, 'vPool');
  const [N, Hq, D] = q.shape as [number, number, number];
  const Hkv = kPool.shape[2] as number;
  if (
    q.shape.length !== 3 ||
    N !== index.layout.rows ||
    D !== kPool.shape[3] ||
    Hq % Hkv !== 0 ||
    kPool.shape.join() !== vPool.shape.join()
  ) {
    throw new Error(
      `${op}: need q [${index.layout.rows}, Hq, D] with Hq % Hkv = 0 and kPool = vPool [blocks, blockSize, Hkv, D]; ` +
        `got q ${fmt(q.shape)}, kPool ${fmt(kPool.shape)}, vPool ${fmt(vPool.shape)}`,
    );
  }
  if (kPool.dtype !== vPool.dtype) {
    throw new Error(`${op}: kPool and vPool must have one dtype, got ${kPool.dtype} and ${vPool.dtype}`);
  }
  if (isGradEnabled() && q.requiresGrad) throw new Error(`${op}: inference only (no backward); run it under noGrad()`);
  const qc = contiguousInput(q);
  const o = backend.pagedAttention(qc, kPool, vPool, index.data, index.layout, options.scale ?? 1 / Math.sqrt(D));
  releaseContiguousInput(qc, q);
  return Tensor.fromStorage(o, backend, [N, Hq, D]);
}
