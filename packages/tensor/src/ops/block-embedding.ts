/**
 * `embedding` for a {@link BlockWeight} table: the rows of the ids, decoded from their blocks by the backend (CPU: on
 * the host, one row at a time; WebGPU: in a kernel), so a half-float or quantized token table (LLaMA-7B's: 262 MB in
 * F16, 74 MB in Q4_0, 524 MB as float32) is never expanded. Inference only.
 *
 * @module
 */
import type { BlockWeight } from '../quant/block-weight.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkIds } from './check-ids.js';
import { contiguous } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';
import { reshape } from './reshape.js';

/**
 * Rows of `table` [V, D] (block format) for int32 `ids` [...] → float32 [..., D], decoded with ggml's definitions.
 * The table and the ids must share a backend. Ids outside [0, V) throw when the ids are known on the host (any CPU
 * tensor, or one created from host data); on the GPU an id made there and out of range reads row 0 or V − 1.
 *
 * ```ts
 * const table = BlockWeight.quantize('Q8_0', [vocab, 64], values);
 * const x = blockEmbedding(table, tensor(new Int32Array([5, 7]), [1, 2], { dtype: 'int32' })); // [1, 2, 64]
 * ```
 *
 * @throws Error naming the op and shapes for ids out of [0, V) or a table on another backend than the ids.
 */
export function blockEmbedding(table: BlockWeight, ids: Tensor): Tensor {
  const backend = backendOf('blockEmbedding', ids);
  requireDtype('blockEmbedding', ids, 'int32', 'ids');
  const [V, D] = table.shape;
  if (table.backend !== backend) {
    throw new Error(
      `blockEmbedding: table ${table.type} ${fmt(table.shape)} is on backend '${table.backend.name}', ids ${fmt(ids.shape)} on '${backend.name}'`,
    );
  }
  checkIds('blockEmbedding', ids, V, 'id');
  const flat = contiguous(ids);
  const idsFlat = reshape(flat, [ids.size]);
  const rows = backend.blockGather(table.storage, idsFlat, table.type, V, D);
  flat.dispose();
  idsFlat.dispose();
  return Tensor.fromStorage(rows, backend, [...ids.shape, D]);
}
