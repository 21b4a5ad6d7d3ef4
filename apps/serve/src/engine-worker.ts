/**
 * The engine worker's entry (see worker-engine.ts): loads the model on the backend it is given, allocates a
 * `LlamaEngine`, then runs one step per message, replaying the block-pool changes the main thread made since the
 * last one first, and posts back the drawn tokens (and logits that were asked for).
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LlamaForCausalLM } from '@andes/nn';
import { setBackend, setCpuThreads } from '@andes/tensor';
import { LlamaEngine } from './llama-engine.js';
import { buildModel } from './model-build.js';
import type { EngineWorkerInit, FromEngineWorker, PoolOp, ToEngineWorker } from './worker-engine.js';

const port = parentPort;
if (!port) throw new Error('engine-worker: must run in a worker thread (see WorkerEngine)');
const init = workerData as EngineWorkerInit;
const post = (m: FromEngineWorker) => port.postMessage(m);

async function load(): Promise<LlamaEngine> {
  await setBackend(init.backend);
  if (init.cpuThreads !== undefined) setCpuThreads(init.cpuThreads);
  const source = init.source;
  const model =
    source.kind === 'path'
      ? await buildModel(source.path, { dtype: source.dtype, lora: source.lora })
      : LlamaForCausalLM.fromWeights(source.config, {
          tensors: new Map(source.tensors.map(([name, shape, data]) => [name, { shape, data }])),
        });
  return new LlamaEngine(model, init.engine);
}

function replay(engine: LlamaEngine, ops: readonly PoolOp[]): void {
  const pool = engine.cache.pool;
  for (const o of ops) {
    if (o.op === 'open') pool.open(o.id, o.tokens, o.maxReuse);
    else if (o.op === 'grow') {
      if (!pool.grow(o.id, o.positions)) throw new Error(`engine-worker: replayed grow of sequence ${o.id} failed`);
    } else pool.close(o.id);
  }
}

let engine: LlamaEngine;
try {
  engine = await load();
} catch (e) {
  post({ type: 'load-error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
const pool = engine.cache.pool;
post({
  type: 'ready',
  vocabSize: engine.vocabSize,
  maxSlots: engine.maxSlots,
  maxContext: engine.maxContext,
  numBlocks: pool.numBlocks,
  blockSize: pool.blockSize,
});

port.on('message', async (m: ToEngineWorker) => {
  if (m.type === 'dispose') {
    engine.dispose();
    port.close();
    return;
  }
  try {
    replay(engine, m.ops);
    post({ type: 'step', results: await engine.step(m.chunks) });
  } catch (e) {
    // Which chunks the forward committed before failing (the main thread's pool commits the same).
    const committed = m.chunks.map((c) => pool.has(c.seq) && pool.length(c.seq) === c.start + c.ids.length);
    post({ type: 'step-error', message: e instanceof Error ? e.message : String(e), committed });
  }
});
