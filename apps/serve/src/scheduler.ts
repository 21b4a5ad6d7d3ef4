/**
 * Continuous batching over a paged KV cache. Requests wait in a bounded queue; every step is one engine forward
 * that mixes the running sequences' decodes with chunks of prompts being prefilled: chunked prefill under a token
 * budget per step, sized from the measured step cost so that a step with prefill stays near `targetStepMs` and a
 * long prompt never stalls the running decodes, and shared between the prompts shortest-first so that no prompt
 * waits behind another's long prefill (see prefill-budget.ts); with `prefillFirst`, prompts run in a step of their own
 * ahead of the decodes instead (never two such steps in a row, or, `adaptive`, while the decodes' wait stays within
 * three decode steps: see prefill-first.ts). The loop starts a step on the next turn of the event
 * loop, so requests arriving together (a burst of clients) are admitted and prefilled in one forward. Admission is
 * by free KV blocks: the oldest waiting request starts once the pool can hold its prompt (after sharing cached
 * prefix blocks, which skip their prefill) and the batch has room; its blocks are reserved then; until then it
 * queues. When a running sequence needs a new block and none is free, the youngest running
 * sequence is preempted (vLLM's recompute policy): its blocks are freed and it goes back to the head of the queue
 * with its prompt and the tokens generated so far, which are prefilled again when blocks allow (mostly from the
 * prefix cache) before it continues; its client sees no difference but latency. A sequence that finishes, is
 * cancelled or whose client disconnects frees its blocks at the next step. The token after a sequence's last pending
 * position is drawn on the device in the same step (its sampler's settings and uniform travel with the chunk), so
 * only ids, and log-probabilities for requests that ask, come back; full logits rows only for prompt log-probabilities.
 * When the engine steps off this thread (engine workers), the next step is planned and started as soon as a step
 * returns, and its tokens are delivered to their clients while the next one runs (see scheduled-sequence.ts).
 *
 * @module
 */

import { cutInCandidates } from './cut-in.js';
import type { Engine, StepChunk, StepResult } from './engine.js';
import { DEFAULT_PREFILL_CHUNK, StepCostModel, sharePrefill } from './prefill-budget.js';
import { adaptivePrefillRows, ChunkCostModel, type PrefillFirstPolicy } from './prefill-first.js';
import { FollowUps } from './refill-wait.js';
import {
  acceptToken,
  type Delivery,
  deliverToken,
  newSequence,
  type ScheduledSequence,
  scorePrompt,
  stepChunk,
} from './scheduled-sequence.js';
import { DEFAULT_REFILL_WAIT_MS, type SchedulerOptions } from './scheduler-options.js';
import type { FinishReason, SequenceHandle, SequenceRequest } from './sequence-request.js';

export { DEFAULT_REFILL_WAIT_MS, type SchedulerOptions } from './scheduler-options.js';
export type {
  FinishReason,
  PromptLogprob,
  SequenceHandle,
  SequenceRequest,
  TokenEvent,
} from './sequence-request.js';

/** Thrown by `submit` when the waiting queue is full (the server answers 429 with `Retry-After`). */
export class QueueFullError extends Error {
  constructor(limit: number) {
    super(`scheduler: queue full (${limit} requests waiting)`);
    this.name = 'QueueFullError';
  }
}

/** Continuous-batching scheduler over one `Engine`. */
export class Scheduler {
  /** Oldest first; preempted sequences go back to the front. */
  private readonly waiting: ScheduledSequence[] = [];
  /** Admission order (oldest first): decodes are scheduled in this order, the youngest is preempted first. */
  private readonly running: ScheduledSequence[] = [];
  private nextId = 0;
  private loop: Promise<void> | null = null;
  private closed = false;
  /** The last step ran prompts alone (`prefillFirst`): the next one decodes. */
  private lastStepPrefillOnly = false;
  /** When the last step that was not prefill-only returned (the running decodes' last token; scheduler clock). */
  private decodesServedAt = 0;
  /** Wall milliseconds of the last step (a refill wait lasts at most a quarter of one). */
  private lastStepMs = Infinity;
  /** A step is running: sequences that end meanwhile keep their blocks until it returns (they may be in it). */
  private stepping = false;
  /** Sequences to release when the running step (and cut-in) returns. */
  private releaseAfterStep: number[] = [];
  /** Cut-ins running (see `SchedulerOptions.cutIn`): their sequences wait for them, in no step. */
  private cutInsInFlight = 0;
  /** A cut-in is planned for the next turn of the event loop. */
  private cutInQueued = false;
  /** Ends and the arrivals that follow them, for refill waits (null: off, see `SchedulerOptions.refillWaitMs`). */
  private readonly followUps: FollowUps | null;
  /** Ends a refill wait early: set while one runs, called by `submit`. */
  private onArrival: (() => void) | null = null;
  /** Step wall time against rows, for the prefill budget. */
  readonly stepCost = new StepCostModel();
  /** Step wall time against chunks and rows, for the adaptive prefill-first policy. */
  readonly chunkCost = new ChunkCostModel();
  /** The prefill-first policy in force (`SchedulerOptions.prefillFirst`, or its default for this engine). */
  readonly prefillFirst: PrefillFirstPolicy;

  /** The engine's `maxSlots` bounds the running batch, its block pool the KV memory. */
  constructor(
    readonly engine: Engine,
    readonly options: SchedulerOptions,
  ) {
    // Refill waits hold the next step, so only where the engine steps on this thread (WebGPU; the CPU backend's
    // engine workers overlap steps with delivery, and their cut-ins serve arrivals during a step).
    const refillMs = options.refillWaitMs ?? (engine.stepsOffThread ? 0 : DEFAULT_REFILL_WAIT_MS);
    if (!(refillMs >= 0)) throw new Error(`scheduler: refillWaitMs must be ≥ 0, got ${refillMs}`);
    this.followUps = refillMs > 0 ? new FollowUps(refillMs) : null;
    // Likewise adaptive prefill first: an engine worker's cut-ins already serve new prompts within a step.
    this.prefillFirst = options.prefillFirst ?? (engine.stepsOffThread ? false : 'adaptive');
  }

  /** Requests waiting for admission. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /**
   * Requests `submit` still takes: `maxQueue` beyond those that free batch room will admit at the next step
   * (arrivals wait for the next turn of the event loop before they are admitted, so a burst is briefly all queued).
   */
  get queueRoom(): number {
    const free = Math.max(0, this.engine.maxSlots - this.running.length);
    return this.options.maxQueue + free - this.waiting.length;
  }

  /** Sequences holding KV blocks. */
  get runningCount(): number {
    return this.running.length;
  }

  /** KV-cache positions held by running sequences (computed so far). */
  get kvPositionsInUse(): number {
    return this.running.reduce((n, s) => n + s.computed, 0);
  }

  /** True while any sequence is queued or running. */
  get busy(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /**
   * Queues a sequence. Throws `QueueFullError` when the queue is full; an Error after `close()` or when the prompt
   * does not fit the context. (Any sequence fits the pool alone: the engine holds at least one full context.)
   */
  submit(req: SequenceRequest): SequenceHandle {
    if (this.closed) throw new Error('scheduler: closed, not accepting requests');
    if (this.queueRoom < 1) throw new QueueFullError(this.options.maxQueue);
    const { maxContext } = this.engine;
    const room = req.maxTokens > 0 ? maxContext - 1 : maxContext;
    if (req.prompt.length < 1 || req.prompt.length > room) {
      throw new Error(
        `scheduler: prompt of ${req.prompt.length} tokens must be in [1, ${room}] (context ${maxContext})`,
      );
    }
    const seq = newSequence(this.nextId++, req, this.now());
    this.waiting.push(seq);
    this.followUps?.arrived(seq.arrived);
    this.onArrival?.();
    this.kick();
    this.queueCutIn();
    return {
      cancel: () => {
        if (seq.done || seq.cancelled) return;
        seq.cancelled = true;
        const i = this.waiting.indexOf(seq);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          this.finish(seq, 'cancelled');
        }
      },
    };
  }

  /** Stops accepting new requests. */
  close(): void {
    this.closed = true;
  }

  /** Resolves when nothing is queued or running (or immediately if idle). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Cancels every queued and running sequence. */
  cancelAll(): void {
    for (const s of [...this.waiting]) {
      s.cancelled = true;
      this.waiting.splice(this.waiting.indexOf(s), 1);
      this.finish(s, 'cancelled');
    }
    for (const s of this.running) s.cancelled = true;
  }

  private now(): number {
    return this.options.clock ? this.options.clock() : performance.now();
  }

  private kick(): void {
    if (this.loop) return;
    // Not now but on the next turn: requests arriving in the same turn (a burst) are admitted into one forward,
    // instead of the first starting a step alone while the others wait for it.
    this.loop = new Promise<void>((r) => setImmediate(r))
      .then(() => this.run())
      .finally(() => {
        this.loop = null;
        if (this.busy) this.kick();
      });
  }

  /**
   * Steps until idle. When steps run off this thread, step N+1 starts before step N's tokens are delivered (written
   * to clients), so the engine never waits for this thread; a sequence that a delivered token stops (a stop string,
   * a failed write) may then have one position computed in vain.
   */
  private async run(): Promise<void> {
    const overlap = this.engine.stepsOffThread === true;
    let inFlight: Promise<Delivery[]> | null = null;
    while (this.busy || inFlight) {
      let drawn: Delivery[] = [];
      if (inFlight) {
        drawn = await inFlight;
        inFlight = null;
        if (!overlap) {
          this.deliverAll(drawn);
          drawn = [];
          // The step held this thread: let sockets flush and new requests arrive before the next.
          await new Promise<void>((r) => setImmediate(r));
          await this.refillWait();
        }
      }
      for (const s of [...this.running]) if (s.cancelled) this.finish(s, 'cancelled');
      const chunks = this.busy ? this.schedule() : [];
      if (chunks.length > 0) inFlight = this.step(chunks);
      this.deliverAll(drawn);
      // Nothing running (nothing fits yet): let requests arrive and sockets flush before planning again.
      if (!inFlight) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Waits for the requests that the clients of sequences just ended are likely to send (see refill-wait.ts): while
   * ends are usually followed, some recent end is not yet, and the queue holds fewer prompts than the batch has free
   * slots; at most until the oldest such end's window closes or a quarter of the last step's time has passed since
   * it. Why a quarter: a follow-up caught saves its prompt a whole step, while a wait that catches none holds every
   * running decode for its length; a quarter bounds that loss where steps are short (a real GPU) and, on lavapipe
   * (steps of 60–90 ms), still spans the window.
   */
  private async refillWait(): Promise<void> {
    const followUps = this.followUps;
    if (!followUps || this.closed) return;
    const start = this.now();
    let waited = false;
    for (;;) {
      const now = this.now();
      const room = this.engine.maxSlots - this.running.length;
      const deadline = followUps.deadline(now, this.lastStepMs / 4);
      if (deadline === undefined || deadline <= now || this.waiting.length >= room || !followUps.likely(now)) break;
      waited = true;
      // Until an arrival (then look again: more ends may be open) or the deadline (then stop: the oldest open end's
      // window may outlast its cap, and a clock that tests hold still would never pass it).
      const arrived = await new Promise<boolean>((resolve) => {
        const done = (byArrival: boolean) => {
          clearTimeout(timer);
          this.onArrival = null;
          resolve(byArrival);
        };
        const timer = setTimeout(() => done(false), deadline - now);
        this.onArrival = () => done(true);
      });
      if (!arrived) break;
    }
    if (waited) this.options.metrics?.refillWaitSeconds.observe((this.now() - start) / 1000);
  }

  /**
   * This step's work: one token for every running sequence that decodes (oldest first; a decode that finds no free
   * block preempts the youngest running sequence), then waiting sequences admitted while blocks and batch room
   * allow (their prompt's blocks reserved at once), then the prefill budget shared between every prompt being
   * prefilled, shortest remaining first (see `sharePrefill`).
   */
  private schedule(): { seq: ScheduledSequence; chunk: StepChunk }[] {
    const { blocks } = this.engine;
    const work: { seq: ScheduledSequence; chunk: StepChunk }[] = [];
    const isPrefilling = (seq: ScheduledSequence) =>
      !seq.inCutIn && (seq.computed < seq.req.prompt.length || seq.tokens.length - seq.computed > 1);
    // Prefill first: prompts waiting or part-prefilled get a step of their own (see prefill-first.ts).
    const prefillOnlyRows = this.prefillOnlyRows(isPrefilling);
    const prefillOnly = prefillOnlyRows > 0;
    // Oldest first, so preemption (from the young end) never removes a sequence already planned in this step.
    for (const seq of prefillOnly ? [] : [...this.running]) {
      if (!seq.running || seq.inCutIn || isPrefilling(seq) || seq.computed >= seq.tokens.length) continue;
      let fits = true;
      while (!blocks.grow(seq.id, seq.computed + 1)) {
        // The youngest, but never one whose prompt a cut-in is computing (seq itself is not).
        const victim = this.running.findLast((s) => !s.inCutIn)!;
        this.preempt(victim);
        if (victim === seq) {
          fits = false;
          break;
        }
      }
      if (fits) work.push({ seq, chunk: stepChunk(seq, 1) });
    }
    const budget = prefillOnly ? prefillOnlyRows : this.prefillBudget(work.length);
    let prefilling = this.running.filter(isPrefilling).length;
    while (prefilling < budget && this.waiting.length > 0 && this.running.length < this.engine.maxSlots) {
      if (!this.admit(this.waiting[0]!)) break;
      prefilling++;
    }
    const prompts = this.running.filter((seq) => isPrefilling(seq) && seq.computed < seq.tokens.length);
    const shares = sharePrefill(
      prompts.map((seq) => seq.tokens.length - seq.computed),
      budget,
    );
    prompts.forEach((seq, i) => {
      // Admission reserved the prompt's blocks, so this grows nothing but never preempts a planned sequence.
      const n = shares[i]!;
      if (n > 0 && blocks.grow(seq.id, seq.computed + n)) work.push({ seq, chunk: stepChunk(seq, n) });
    });
    // A prefill-only step that found nothing to prefill (no blocks to admit) falls back to the decodes at once.
    if (prefillOnly && work.length === 0) {
      this.lastStepPrefillOnly = true;
      return this.schedule();
    }
    this.lastStepPrefillOnly = prefillOnly;
    return work;
  }

  /**
   * The prompt rows of a prefill-only step planned now, or 0 for a step that mixes prompts with the decodes: per
   * `prefillFirst`, when prompts are waiting (with batch room) or part-prefilled; `true` unless the last step was
   * prefill-only; `adaptive` as `adaptivePrefillRows` decides from the step cost model (mixing until it has a fit).
   */
  private prefillOnlyRows(isPrefilling: (seq: ScheduledSequence) => boolean): number {
    const policy = this.prefillFirst;
    if (!policy) return 0;
    const prompts = this.running.filter(isPrefilling).map((seq) => seq.tokens.length - seq.computed);
    const room = this.engine.maxSlots - this.running.length;
    if (policy === 'adaptive') {
      // A backlog (more requests queued than the batch has room for): their first tokens wait mostly for slots,
      // which throughput frees, and a step of its own for prompts costs throughput, so prompts go beside the decodes.
      if (this.waiting.length > room) return 0;
      for (const seq of this.waiting.slice(0, Math.max(0, room))) prompts.push(seq.tokens.length - this.reuse(seq));
    } else if (room > 0 && this.waiting.length > 0) prompts.push(1);
    if (prompts.length === 0) return 0;
    const decodes = this.running.length - this.running.filter(isPrefilling).length;
    const waited = this.now() - this.decodesServedAt;
    // Adaptive without a fit yet mixes: nothing says yet what a step alone would save.
    if (policy === 'adaptive') return adaptivePrefillRows(this.chunkCost, decodes, waited, prompts) ?? 0;
    return this.lastStepPrefillOnly ? 0 : this.prefillBudget(0);
  }

  /** Prompt tokens this step may prefill beside `decodes` decode rows. */
  private prefillBudget(decodes: number): number {
    const cap = Math.max(1, this.options.prefillChunk ?? DEFAULT_PREFILL_CHUNK);
    const target = this.options.targetStepMs ?? 100;
    if (target <= 0) return cap;
    const floor = Math.min(cap, Math.max(1, this.options.minPrefillChunk ?? 64));
    return Math.min(cap, Math.max(floor, this.stepCost.rowsBeside(decodes, target)));
  }

  /**
   * Admits the oldest waiting sequence when the pool can hold its prompt and first new token (after sharing cached
   * prefix blocks, which it then skips) and reserves those blocks; false (it keeps waiting) when blocks are short.
   */
  private admit(seq: ScheduledSequence): boolean {
    const { blocks } = this.engine;
    const maxReuse = this.reuse(seq);
    const free = blocks.admissionFreeBlocks?.() ?? blocks.freeBlocks;
    if (blocks.blocksToAdmit(seq.tokens, seq.tokens.length + 1, maxReuse) > free) return false;
    this.waiting.shift();
    const reused = blocks.open(seq.id, seq.tokens, maxReuse);
    if (reused > 0) {
      this.options.metrics?.prefixCacheHits.inc();
      this.options.metrics?.prefixCacheTokens.inc({}, reused);
    }
    if (!blocks.grow(seq.id, seq.tokens.length + 1)) throw new Error('scheduler: admitted without free blocks');
    seq.computed = blocks.length(seq.id);
    seq.running = true;
    this.running.push(seq);
    return true;
  }

  /** Prompt positions that admitting `seq` now would share from the prefix cache (and so not prefill). */
  private reuse(seq: ScheduledSequence): number {
    const min = this.options.prefixCacheMinTokens ?? 1;
    // Prompt log-probabilities need every prompt position's logits; one token must remain to compute.
    const maxReuse = seq.req.promptLogprobs || min <= 0 ? 0 : seq.tokens.length - 1;
    const { blocks } = this.engine;
    const found = maxReuse > 0 ? blocks.lookupPrefix(seq.tokens, maxReuse).tokens : 0;
    // Without partial blocks, whole blocks only: opening with a multiple of the block size that the chain of cached
    // blocks reaches leaves no room for a copy.
    const reused = this.options.partialPrefix === false ? found - (found % blocks.blockSize) : found;
    return reused >= min ? reused : 0;
  }

  /** Frees `seq`'s blocks and puts it back at the head of the queue, to be recomputed from its tokens. */
  private preempt(seq: ScheduledSequence): void {
    this.engine.release(seq.id);
    this.running.splice(this.running.indexOf(seq), 1);
    seq.running = false;
    seq.computed = 0;
    this.waiting.unshift(seq);
    this.options.metrics?.preemptions.inc();
  }

  /** Runs one step and applies its results; resolves to the drawn tokens, to deliver. */
  private async step(work: { seq: ScheduledSequence; chunk: StepChunk }[]): Promise<Delivery[]> {
    let results: Array<StepResult | Error>;
    const t0 = this.now();
    this.stepping = true;
    try {
      results = await this.engine.step(work.map((w) => w.chunk));
      const t1 = this.now();
      if (!this.lastStepPrefillOnly) this.decodesServedAt = t1;
      this.lastStepMs = t1 - t0;
      const seconds = (t1 - t0) / 1000;
      const rows = work.reduce((n, w) => n + w.chunk.ids.length, 0);
      this.stepCost.observe(rows, seconds * 1000);
      this.chunkCost.observe(work.length, rows, seconds * 1000);
      this.options.metrics?.stepSeconds.observe(seconds);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      results = work.map(() => err);
    } finally {
      this.stepping = false;
      this.releaseDeferred();
    }
    const m = this.options.metrics;
    const decodes = work.filter((w) => w.chunk.ids.length === 1 && w.chunk.start >= w.seq.req.prompt.length).length;
    if (decodes > 0) m?.batchSize.observe(decodes);
    if (work.length > decodes) m?.prefillBatchSize.observe(work.length - decodes);
    const drawn: Delivery[] = [];
    for (let i = 0; i < work.length; i++) {
      const d = this.afterStep(work[i]!.seq, work[i]!.chunk, results[i]!);
      if (d) drawn.push(d);
    }
    return drawn;
  }

  /** Records a computed chunk of `seq` (or its failure); once every position is computed, accepts the drawn token. */
  private afterStep(seq: ScheduledSequence, chunk: StepChunk, result: StepResult | Error): Delivery | undefined {
    if (seq.done) return;
    if (result instanceof Error) {
      this.finish(seq, 'error', result);
      return;
    }
    const n = chunk.ids.length;
    const prompt = seq.req.prompt;
    const promptPart = Math.max(0, Math.min(chunk.start + n, prompt.length) - chunk.start);
    if (promptPart > 0) this.options.metrics?.promptTokens.inc({}, promptPart);
    seq.computed = chunk.start + n;
    if (chunk.allLogits && result.logits) scorePrompt(seq, chunk, result.logits, this.engine.vocabSize);
    if (seq.computed < seq.tokens.length || seq.cancelled) return;
    if (seq.req.maxTokens <= 0) {
      if (seq.req.promptLogprobs) seq.req.onPromptLogprobs?.(seq.promptEntries);
      this.finish(seq, 'length');
      return;
    }
    if (!result.token) {
      this.finish(seq, 'error', new Error(`scheduler: the engine drew no token for sequence ${seq.id}`));
      return;
    }
    const d = acceptToken(seq, result.token, this.engine.maxContext);
    // A sequence that ends leaves the batch now, its blocks free for the next step; it finishes once delivered.
    if (d.ending) this.retire(seq);
    return d;
  }

  /** Delivers accepted tokens in order, finishing the sequences that end there. */
  private deliverAll(drawn: readonly Delivery[]): void {
    for (const d of drawn) {
      if (d.seq.done) continue;
      const end = deliverToken(d, this.now(), this.options.metrics);
      if (end instanceof Error) this.finish(d.seq, 'error', end);
      else if (end) this.finish(d.seq, end);
    }
  }

  /** Takes `seq` out of the batch and the queue and frees its blocks (after the running step, which may hold it). */
  private retire(seq: ScheduledSequence): void {
    if (seq.running) {
      this.running.splice(this.running.indexOf(seq), 1);
      seq.running = false;
    }
    const waiting = this.waiting.indexOf(seq);
    if (waiting >= 0) this.waiting.splice(waiting, 1);
    if (this.stepping || this.cutInsInFlight > 0) this.releaseAfterStep.push(seq.id);
    else this.engine.release(seq.id);
  }

  /** Releases the sequences that ended while a step or cut-in (which may hold them) ran, once neither runs. */
  private releaseDeferred(): void {
    if (this.stepping || this.cutInsInFlight > 0) return;
    for (const id of this.releaseAfterStep.splice(0)) this.engine.release(id);
  }

  /** Plans a cut-in for the next turn of the event loop, so that the arrivals of one turn share it. */
  private queueCutIn(): void {
    if (!this.engine.cutIn || this.options.cutIn === false || this.cutInQueued) return;
    this.cutInQueued = true;
    setImmediate(() => {
      this.cutInQueued = false;
      this.startCutIn();
    });
  }

  /**
   * While a step runs (cut-ins already running or not): admits the waiting sequences (oldest first, all that batch
   * room allows, if their prompts' rows fit `cutInMaxRows`, while blocks allow) and runs their whole prompts as a
   * cut-in; their first tokens are delivered as it returns.
   */
  private startCutIn(): void {
    const cutIn = this.engine.cutIn;
    if (!cutIn || !this.stepping) return;
    const room = this.engine.maxSlots - this.running.length;
    const next = cutInCandidates(this.waiting, room, this.options.cutInMaxRows ?? 64, (seq) => this.reuse(seq));
    const seqs: ScheduledSequence[] = [];
    for (const seq of next) {
      if (!this.admit(seq)) break;
      seq.inCutIn = true;
      seqs.push(seq);
    }
    if (seqs.length === 0) return;
    const chunks = seqs.map((seq) => stepChunk(seq, seq.tokens.length - seq.computed));
    this.cutInsInFlight++;
    this.options.metrics?.prefillBatchSize.observe(seqs.length);
    cutIn
      .call(this.engine, chunks)
      .then(
        (results): Array<StepResult | Error> => results,
        (e) => chunks.map(() => (e instanceof Error ? e : new Error(String(e)))),
      )
      .then((results) => {
        this.cutInsInFlight--;
        const drawn: Delivery[] = [];
        seqs.forEach((seq, i) => {
          seq.inCutIn = false;
          const d = this.afterStep(seq, chunks[i]!, results[i]!);
          if (d) drawn.push(d);
        });
        this.releaseDeferred();
        this.deliverAll(drawn);
        if (this.waiting.length > 0) this.queueCutIn();
      });
  }

  private finish(seq: ScheduledSequence, reason: FinishReason, error?: Error): void {
    if (seq.done) return;
    seq.done = true;
    // A whole answer delivered: its client may send its next request now.
    if (reason === 'stop' || reason === 'length') this.followUps?.ended(this.now());
    this.retire(seq);
    this.options.metrics?.finished.inc({ reason });
    try {
      seq.req.onFinish(reason, error);
    } catch {
      // A handler's failure must not stop the batch.
    }
  }
}
