/**
 * `embedding` for a {@link BlockWeight} table: the rows of the ids, decoded from their blocks one at a time, so a
 * half-float or quantized token table (LLaMA-7B's: 262 MB in F16, 74 MB in Q4_0, 524 MB as float32) is never
 * expanded. Inference only.
 *
 * @module
 */
import { CpuStorage } from '../cpu/storage.js';
import { dequantize } from '../formats/ggml-dequantize.js';
import { ggmlByteSize } from '../formats/ggml-types.js';
import type { BlockWeight } from '../quant/block-weight.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { hostInts } from './check-ids.js';
import { backendOf, requireDtype } from './inputs.js';

/**
 * Rows of `table` [V, D] (block format) for int32 `ids` [...] → float32 [..., D], decoded with ggml's definitions.
 * The rows are decoded on the host, so the table must live on the CPU backend (whose memory the host reads) and the
 * ids must be known on the host (any CPU tensor, or one created from host data).
 *
 * ```ts
 * const table = BlockWeight.quantize('Q8_0', [vocab, 64], values);
 * const x = blockEmbedding(table, tensor(new Int32Array([5, 7]), [1, 2], { dtype: 'int32' })); // [1, 2, 64]
 * ```
 *
 * @throws Error naming the op and shapes for ids out of [0, V), a table on another backend or ids not on the host.
 */
export function blockEmbedding(table: BlockWeight, ids: Tensor): Tensor {
  const backend = backendOf('blockEmbedding', ids);
  requireDtype('blockEmbedding', ids, 'int32', 'ids');
  const [V, D] = table.shape;
  const storage = table.storage;
  if (!(storage instanceof CpuStorage) || table.backend !== backend) {
    throw new Error(
      `blockEmbedding: table ${table.type} ${fmt(table.shape)} must be on the cpu backend with the ids (table on '${table.backend.name}', ids ${fmt(ids.shape)} on '${backend.name}')`,
    );
  }
  const values = hostInts(ids);
  if (values === null) {
    throw new Error(`blockEmbedding: ids ${fmt(ids.shape)} are not known on the host (create them from host data)`);
  }
  const words = storage.data;
  const bytes = new Uint8Array(words.buffer, words.byteOffset, table.byteLength);
  const rowBytes = ggmlByteSize(table.type, D);
  const out = new Float32Array(values.length * D);
  for (let i = 0; i < values.length; i++) {
    const id = values[i] as number;
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(
        `blockEmbedding: id ${id} at flat index ${i} of ${fmt(ids.shape)} is out of range [0, ${V}) of table ${table.type} ${fmt(table.shape)}`,
      );
    }
    out.set(dequantize(table.type, bytes.subarray(id * rowBytes, (id + 1) * rowBytes), D), i * D);
  }
  const result = backend.alloc('float32', out.length);
  backend.write(result, out);
  return Tensor.fromStorage(result, backend, [...ids.shape, D]);
}
