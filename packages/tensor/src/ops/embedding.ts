import { fmt } from '../shape.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { checkIds } from './check-ids.js';
import { contiguous } from './contiguous.js';
import { backendOf, requireDtype } from './inputs.js';
import { reshape } from './reshape.js';

/**
 * Looks up rows of `table` [V, D] for int32 `ids` [...] → [..., D]. Ids outside [0, V) throw (checked whenever the ids
 * are known on the host). The backward scatter-adds into the table's gradient.
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const backend = backendOf('embedding', table, ids);
  requireDtype('embedding', ids, 'int32', 'ids');
  if (table.shape.length !== 2) throw new Error(`embedding: table must be [V, D], got ${fmt(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  checkIds('embedding', ids, V, 'id');
  const N = ids.size;
  const flat = contiguous(ids);
  const idsFlat = reshape(flat, [N]);
  const y = Tensor.fromStorage(backend.gather(table, idsFlat), backend, [...ids.shape, D]);
  const out = record(
    'embedding',
    [table],
    y,
    (g, [idsFlat]) => {
      const g2 = contiguous(reshape(g, [N, D]));
      return [Tensor.fromStorage(backend.scatterAdd(g2, idsFlat!, V), backend, [V, D])];
    },
    [idsFlat],
  );
  flat.dispose();
  idsFlat.dispose();
  return out;
}
