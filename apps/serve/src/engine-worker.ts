/**
 * The engine worker's entry (see worker-engine.ts): loads the model on the backend it is given, allocates a
 * `LlamaEngine`, then runs one step per message, replaying the block-pool changes the main thread made since the
 * last one first, and posts back the drawn tokens (and logits that were asked for). Cut-ins (`Engine.cutIn`) arrive
 * on their own port, which a running step reads between its layers (`receiveMessageOnPort`: the step never returns
 * to the event loop) and runs there as a forward of their own (the cut-ins waiting at one boundary as one forward);
 * one posted too late for the step runs right after it.
 *
 * @module
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { LlamaForCausalLM } from '@andes/nn';
import { setBackend, setCpuHelperNice, setCpuHelperSpin, setCpuThreads } from '@andes/tensor';
import type { StepChunk } from './engine.js';
import { LlamaEngine } from './llama-engine.js';
import { buildModel } from './model-build.js';
import type { CutInMessage, EngineWorkerInit, FromEngineWorker, PoolOp, ToEngineWorker } from './worker-engine.js';

const port = parentPort;
if (!port) throw new Error('engine-worker: must run in a worker thread (see WorkerEngine)');
const init = workerData as EngineWorkerInit;
const post = (m: FromEngineWorker) => port.postMessage(m);

async function load(): Promise<LlamaEngine> {
  // First: the CPU helper threads start from this thread later and inherit its nice value. On Linux,
  // setpriority(PRIO_PROCESS, 0) sets the calling thread's nice value only (elsewhere it would renice the process).
  if (init.computeNice && process.platform === 'linux') {
    const nice = Math.min(19, getPriority(0) + init.computeNice);
    try {
      setPriority(0, nice);
    } catch (e) {
      throw new Error(`engine-worker: cannot set its thread's nice value to ${nice}: ${(e as Error).message}`);
    }
  }
  if (init.helperNice) setCpuHelperNice(init.helperNice);
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
    } else if (o.op === 'commit') pool.commit(o.id, o.start, o.ids);
    else pool.close(o.id);
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

/**
 * Sequences in a step from which the CPU helper threads stop polling for jobs between products (setCpuHelperSpin 0).
 * Why: with several streams in flight the server's HTTP thread and the clients want the cores too, and a polling
 * helper took CPU time from them; side by side on 2 vCPUs (apps/serve/BENCHMARKS.md), 16 clients gained 2–11 %
 * tokens/s and TTFT p95 fell from 21 to 15–17 ms. One sequence keeps the polling: its one-row products are short and
 * memory-bound, and a sleeping helper would join them late.
 */
const SPINLESS_SEQUENCES = 2;

const cutIns = init.cutInPort ?? null;
/** A step or cut-in is running: a `drain` that arrives meanwhile leaves the port to it. */
let running = false;
/** Steps whose pool changes were replayed (see `CutInMessage.afterSteps`). */
let stepsReplayed = 0;
/** A cut-in read from its port before the step posted ahead of it was replayed: it runs after that step's changes. */
let held: CutInMessage | null = null;

/** What one reply answers: a step, or one cut-in of a batch of them. */
interface Part {
  ops: readonly PoolOp[];
  chunks: readonly StepChunk[];
}

/**
 * Replays the parts' pool changes in order, runs all their chunks as one forward (between the layers of
 * `between`'s caller, if any) and posts one reply of `kind` per part, in order, with its share of the results.
 */
async function run(kind: 'step' | 'cut-in', parts: readonly Part[], between?: () => Promise<void> | undefined) {
  let forwarded = false;
  try {
    for (const p of parts) replay(engine, p.ops);
    if (kind === 'step') stepsReplayed++;
    if (kind === 'step') setCpuHelperSpin(parts[0]!.chunks.length >= SPINLESS_SEQUENCES ? 0 : undefined);
    const chunks = parts.length === 1 ? parts[0]!.chunks : parts.flatMap((p) => p.chunks);
    // The main thread commits the chunks when the reply comes, and this pool replays that (see replay).
    const onForward = () => {
      forwarded = true;
    };
    const results = await engine.step(chunks, { betweenLayers: between, commit: false, onForward });
    let at = 0;
    for (const p of parts) {
      post({ type: kind, results: results.slice(at, (at += p.chunks.length)), opensForward: at === p.chunks.length });
    }
  } catch (e) {
    // A failure after the forward (drawing tokens) leaves the keys and values written: the chunks count as computed.
    const message = e instanceof Error ? e.message : String(e);
    for (const p of parts) post({ type: `${kind}-error`, message, committed: p.chunks.map(() => forwarded) });
  }
}

/**
 * The cut-ins waiting on their port whose step changes were replayed, oldest first (the first that must wait for a
 * step is held, and so are the ones behind it).
 */
function readyCutIns(): CutInMessage[] {
  const ready: CutInMessage[] = [];
  for (;;) {
    const next = held ?? (receiveMessageOnPort(cutIns!)?.message as CutInMessage | undefined);
    held = null;
    if (!next) return ready;
    if (next.afterSteps > stepsReplayed) {
      held = next;
      return ready;
    }
    ready.push(next);
  }
}

/**
 * Every cut-in ready now, run to its reply as **one** forward: prompts that arrived close together are prefilled
 * together, as a step would (one pass over the weights, one output projection for all their last rows), instead
 * of each waiting for the ones before it. Undefined when none is ready.
 */
function nextCutIns(): Promise<void> | undefined {
  const ready = readyCutIns();
  return ready.length > 0 ? run('cut-in', ready) : undefined;
}

/** At a layer boundary of a step: every cut-in waiting (and whose step changes were replayed), in order. */
function atBoundary(): Promise<void> | undefined {
  return nextCutIns()?.then(drainCutIns);
}

async function drainCutIns(): Promise<void> {
  if (!cutIns) return;
  for (let next = nextCutIns(); next; next = nextCutIns()) await next;
}

port.on('message', async (m: ToEngineWorker) => {
  if (m.type === 'dispose') {
    engine.dispose();
    port.close();
    cutIns?.close();
    return;
  }
  if (running) return; // a drain during a step: the step reads the port itself
  running = true;
  try {
    // A cut-in waiting now was posted after this step (one posted earlier ran when its `drain` came, which was
    // posted before this step): its pool changes come after the step's, so it runs at the step's first boundary.
    if (m.type === 'step') await run('step', [m], cutIns ? atBoundary : undefined);
    await drainCutIns();
  } finally {
    running = false;
  }
});
