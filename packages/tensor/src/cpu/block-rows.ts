/**
 * One block-weight product (wasm-block-kernels.ts) as a range kernel over runs of weight rows, so that the CPU
 * helper threads (cpu-threads.ts) take part of it as they do in the float32 products.
 *
 * Why: the block kernels ran on the calling thread alone, so a model kept in its GGUF types (`dtype: 'keep'`) used
 * one core where a float32 model used all of them; served at 16 clients it gave ~60 % of the float32 tokens/s.
 *
 * The product's parameters sit as int32 at a byte address of wasm memory ({@link BLOCK_ROWS}); item i is weight
 * rows [i·item, (i + 1)·item) for every activation row. Each output is computed by the same kernel over the same
 * weight units whichever thread takes its item and however items are grouped: rows of x go in the same tiles of
 * MAX_ROWS from row 0, and the one-row kernels on C far weight streams dot each weight row exactly as the
 * one-stream kernel does (block-rows.test.ts checks both bit for bit). So results do not depend on the thread count.
 *
 * The helpers compile the same function from its text ({@link blockRowsSource}): one copy, and no module path to
 * resolve inside an `eval` worker.
 *
 * @module
 */
import type { BlockType } from '../backend/backend.js';
import { BLOCK_TYPES } from './wasm-block-kernels.js';

/** Int32 fields of a block product's parameters (byte addresses and strides as the block kernels take them). */
export const BLOCK_ROWS = {
  /** Index of the weight type in {@link BLOCK_ROW_TYPES}. */
  TYPE: 0,
  /** Activation rows. */
  ROWS: 1,
  X: 2,
  X_STRIDE: 3,
  XS: 4,
  XS_STRIDE: 5,
  W: 6,
  W_STRIDE: 7,
  ROW_BYTES: 8,
  /** Weight rows (output columns). */
  N: 9,
  O: 10,
  O_STRIDE: 11,
  /** Far weight streams of the one-row kernel (1 or the unit's decodeStreams). */
  STREAMS: 12,
  /** Weight rows per item: a multiple of {@link BLOCK_ROWS_CHUNK} and of STREAMS. */
  ITEM: 13,
} as const;

/** Bytes of the parameters (16-byte aligned, so that activations can follow them). */
export const BLOCK_ROWS_BYTES = 64;

/**
 * Weight types in the order of {@link BLOCK_ROWS}.TYPE: the block kernels' own list (their export names start with
 * them, wasm-block-kernels.ts), so that a type they gain is a type this kernel knows.
 */
export const BLOCK_ROW_TYPES: readonly BlockType[] = BLOCK_TYPES;

/**
 * Weight rows per pass when x has more than one row: every row tile of x passes over them while they stay in cache
 * (a Q8_0 run of 768-wide rows is ~26 KiB).
 */
export const BLOCK_ROWS_CHUNK = 32;

/** Rows of x per kernel call (the block kernels exist for 1..4 rows: wasm-block-kernels.ts MAX_ROWS). */
export const BLOCK_ROWS_TILE = 4;

/**
 * Items [first, first + count) of the block product whose parameters ({@link BLOCK_ROWS}) are at byte `params` of
 * `memory`, on the block module's exports `e`. Self-contained but for the constants of this module, which
 * {@link blockRowsSource} declares beside it for the helper threads.
 */
export function blockRows(
  e: WebAssembly.Exports,
  memory: WebAssembly.Memory,
  params: number,
  first: number,
  count: number,
): void {
  const P = BLOCK_ROWS;
  const p = new Int32Array(memory.buffer, params, BLOCK_ROWS_BYTES / 4);
  const kernel = (rows: number, streams: number) =>
    e[`${BLOCK_ROW_TYPES[p[P.TYPE]!]}_${rows}x${streams}`] as (...args: number[]) => void;
  const [rows, x, xStride, xs, xsStride] = [p[P.ROWS]!, p[P.X]!, p[P.X_STRIDE]!, p[P.XS]!, p[P.XS_STRIDE]!];
  const [w, wStride, rowBytes, n, o, oStride] = [
    p[P.W]!,
    p[P.W_STRIDE]!,
    p[P.ROW_BYTES]!,
    p[P.N]!,
    p[P.O]!,
    p[P.O_STRIDE]!,
  ];
  const [streams, item] = [p[P.STREAMS]!, p[P.ITEM]!];
  const j0 = first * item;
  const j1 = Math.min(n, (first + count) * item);
  if (j1 <= j0) return;
  if (rows === 1) {
    // Decode: the run's largest multiple of streams on far streams, the rest on one.
    const m = j1 - j0;
    const spanned = m - (m % streams);
    if (spanned > 0)
      kernel(1, streams)(x, xStride, xs, xsStride, w + j0 * wStride, wStride, rowBytes, spanned, o + 4 * j0, oStride);
    if (spanned < m) {
      const j = j0 + spanned;
      kernel(1, 1)(x, xStride, xs, xsStride, w + j * wStride, wStride, rowBytes, m - spanned, o + 4 * j, oStride);
    }
    return;
  }
  // The two kernels of the loop, looked up once (a name built per call cost ~2 % of a kept model's step).
  const tail = rows % BLOCK_ROWS_TILE;
  const whole = kernel(Math.min(BLOCK_ROWS_TILE, rows), 1);
  const last = tail === 0 ? whole : kernel(tail, 1);
  for (let j = j0; j < j1; j += BLOCK_ROWS_CHUNK) {
    const c = Math.min(BLOCK_ROWS_CHUNK, j1 - j);
    for (let r0 = 0; r0 < rows; r0 += BLOCK_ROWS_TILE) {
      (rows - r0 < BLOCK_ROWS_TILE ? last : whole)(
        x + r0 * xStride,
        xStride,
        xs + r0 * xsStride,
        xsStride,
        w + j * wStride,
        wStride,
        rowBytes,
        c,
        o + r0 * oStride + 4 * j,
        oStride,
      );
    }
  }
}

/** Source of {@link blockRows} with the constants it reads, for the helper threads' program. */
export function blockRowsSource(): string {
  return [
    `const BLOCK_ROWS = ${JSON.stringify(BLOCK_ROWS)};`,
    `const BLOCK_ROWS_BYTES = ${BLOCK_ROWS_BYTES};`,
    `const BLOCK_ROW_TYPES = ${JSON.stringify(BLOCK_ROW_TYPES)};`,
    `const BLOCK_ROWS_CHUNK = ${BLOCK_ROWS_CHUNK};`,
    `const BLOCK_ROWS_TILE = ${BLOCK_ROWS_TILE};`,
    blockRows.toString(),
  ].join('\n');
}
