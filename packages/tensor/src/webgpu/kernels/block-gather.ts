/**
 * Rows of a block weight (an embedding table in F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K) decoded to float32 on the GPU,
 * from the word layout of `../block-layout.ts`: the token table stays at the file's bits per weight and only the
 * rows looked up are ever widened. One invocation decodes one unit (one payload word, Q6_K: three) of one output
 * row, with the per-format decode of `block-decode.ts` (the matmul kernels' code).
 *
 * @module
 */
import type { BlockType, View } from '../../backend/backend.js';
import { blockLayout, payloadWordsPerBlock } from '../block-layout.js';
import type { GpuStorage, Runtime } from '../runtime.js';
import { BLOCK_PARAMS, decodeHelpers, formatGeometry, unitWeightsCode } from './block-decode.js';
import { contiguousInput, ELEMENT_MAIN, freeAll } from './row.js';

/** Parameter words: the block kernels' layout words where `decodeHelpers` reads them, then the gather's sizes. */
const P = {
  ids: 0,
  k: 1,
  rows: 2,
  idsOffset: 3,
  blocks: BLOCK_PARAMS.blocks,
  rowWords: BLOCK_PARAMS.rowWords,
  auxOffset: BLOCK_PARAMS.auxOffset,
  halfOffset: BLOCK_PARAMS.halfOffset,
  unitsPerRow: 8,
};

function gatherCode(type: BlockType): string {
  const { units, span, elems } = formatGeometry(type);
  const half = type === 'F16' || type === 'BF16';
  // F16/BF16 rows of odd length end in a padded word: its high half is past the row.
  const store = (elem: string, value: string) =>
    half ? `if (b * ${elems}u + ${elem} < k) { out[ob + ${elem}] = ${value}; }` : `out[ob + ${elem}] = ${value};`;
  return `${decodeHelpers('ids: array<i32>')}
${ELEMENT_MAIN}
  let upr = pu(${P.unitsPerRow}u);
  if (i >= pu(${P.ids}u) * upr) { return; }
  let k = pu(${P.k}u); let nb = pu(${P.blocks}u); let rw = pu(${P.rowWords}u);
  let t = i / upr;
  let g = i - t * upr;
  // Ids are checked on the host when known there; a device-made id out of range reads a valid row, not past the table.
  let row = u32(clamp(ids[pu(${P.idsOffset}u) + t], 0, i32(pu(${P.rows}u)) - 1));
  let b = g / ${units}u;
  let u = g - b * ${units}u;
  let rb0 = row * nb + b;
  let pb0 = row * rw + b * ${payloadWordsPerBlock(type)}u;
  let ob = t * k + b * ${elems}u;
${unitWeightsCode(type, 'u', `u / ${span}u`, store)}
}`;
}

/** out [N, k] float32: rows `ids` [N] (int32) of the weight [rows, k] of `type` in the word layout of block-layout.ts. */
export function blockGather(
  rt: Runtime,
  weight: GpuStorage,
  ids: View,
  type: BlockType,
  rows: number,
  k: number,
): GpuStorage {
  const n = ids.shape.reduce((a, b) => a * b, 1);
  const out = rt.alloc('float32', n * k);
  if (n * k === 0) return out;
  const temps: GpuStorage[] = [];
  const iv = contiguousInput(rt, ids, temps);
  const layout = blockLayout(type, rows, k);
  // F16/BF16: one unit per word of the row, the padded last word of an odd row included.
  const unitsPerRow = type === 'F16' || type === 'BF16' ? layout.rowWords : layout.blocks * formatGeometry(type).units;
  const params = [
    n,
    k,
    rows,
    iv.offset,
    layout.blocks,
    layout.rowWords,
    layout.auxOffset,
    layout.halfOffset,
    unitsPerRow,
  ];
  const p = rt.pipeline(`blockGather:${type}`, () => gatherCode(type));
  rt.dispatch(p, [out, iv.storage as GpuStorage, weight], params, Math.ceil((n * unitsPerRow) / 128));
  freeAll(rt, temps);
  return out;
}
