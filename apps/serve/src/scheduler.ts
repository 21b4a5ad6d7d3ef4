/**
 * Continuous batching. Requests wait in a bounded queue; at every token boundary the scheduler admits waiting
 * sequences into free KV-cache slots (admission is by free slots: a slot holds a whole context, so an admitted
 * sequence never runs out of KV memory) and prefills the boundary's prompt chunks, arrivals and continuations of
 * long prompts alike, in one batched forward; then it runs one batched decode step over every running sequence.
 * A sequence that finishes, is cancelled or whose client disconnects frees its slot at the next boundary, and a
 * waiting one takes it.
 *
 * @module
 */

import { Sampler, type SamplingParams, type TokenLogprob, tokenLogprobs } from '@andes/nn';
import type { Engine, SampledRow } from './engine.js';
import type { ServeMetrics } from './metrics.js';

/** Why a sequence ended: `stop` (EOS or a stop string), `length` (max tokens or context), `cancelled`, `error`. */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

/** A generated token as delivered to the request handler. */
export interface TokenEvent {
  id: number;
  /** True for an end-of-sequence token: it ends the sequence and carries no text. */
  eos: boolean;
  /** Log-probability under the model (present when `topLogprobs` ≥ 0). */
  logprob?: number;
  /** The `topLogprobs` most likely alternatives. */
  top?: TokenLogprob[];
}

/** Log-probability of prompt token t+1 given tokens ≤ t (index 0 of the list is the first prompt token: null). */
export interface PromptLogprob {
  logprob: number;
  top: TokenLogprob[];
}

/** What a request handler submits: the prompt, limits, sampling and callbacks. */
export interface SequenceRequest {
  /** Prompt token ids (1 ≤ length < engine.maxContext; ≤ when `maxTokens` is 0). */
  prompt: readonly number[];
  /** Most tokens to generate; 0 only runs the prompt (for prompt log-probabilities). */
  maxTokens: number;
  sampling: SamplingParams;
  /** Token ids that end the sequence with reason `stop`. */
  eosIds: readonly number[];
  /** -1: no log-probabilities; k ≥ 0: each token's logprob plus its k best alternatives. */
  topLogprobs: number;
  /** Also compute the prompt tokens' log-probabilities (legacy `echo` + `logprobs`). */
  promptLogprobs?: boolean;
  /** Called once, before any token, when `promptLogprobs` is set: entries for prompt[1..]. */
  onPromptLogprobs?(entries: PromptLogprob[]): void;
  /** Called per generated token; return `true` to end the sequence with reason `stop` (a stop string matched). */
  onToken(ev: TokenEvent): boolean | undefined;
  /** Called exactly once at the end. */
  onFinish(reason: FinishReason, error?: Error): void;
}

/** The submitter's handle on a queued or running sequence. */
export interface SequenceHandle {
  /** Ends the sequence (reason `cancelled`) and frees its slot at the next token boundary. Idempotent. */
  cancel(): void;
}

/** Thrown by `submit` when the waiting queue is full (the server answers 429). */
export class QueueFullError extends Error {
  constructor(limit: number) {
    super(`scheduler: queue full (${limit} requests waiting)`);
    this.name = 'QueueFullError';
  }
}

interface Sequence {
  req: SequenceRequest;
  sampler: Sampler;
  slot: number;
  /** Prompt tokens already in the KV cache. */
  prefilled: number;
  /** Prompt log-probabilities gathered chunk by chunk (when requested). */
  promptEntries: PromptLogprob[];
  /** Tokens generated so far. */
  generated: number;
  /** Next token to feed, and its position. */
  next: number;
  position: number;
  cancelled: boolean;
  done: boolean;
  arrived: number;
  lastTokenAt: number;
}

/** Scheduler options. */
export interface SchedulerOptions {
  /** Most requests waiting for a slot before `submit` throws `QueueFullError`. */
  maxQueue: number;
  /**
   * Most prompt tokens prefilled per token boundary (default 512); longer prompts are prefilled in chunks of this
   * size, between decode steps of the running batch.
   */
  prefillChunk?: number;
  metrics?: ServeMetrics;
  /**
   * Prefix caching: a new sequence whose prompt starts with at least this many tokens that a slot's cache already
   * holds (a finished or running sequence with the same system prompt) starts its prefill after them: in that slot
   * when it is free, else after copying them into a free slot (default 16; 0 turns it off).
   */
  prefixCacheMinTokens?: number;
}

/** Length of the common prefix of two token lists. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Continuous-batching scheduler over one `Engine`. */
export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly running = new Map<number, Sequence>();
  private readonly freeSlots: number[];
  /** Per slot, the prompt tokens whose keys/values its cache holds at positions 0… (kept after the slot is freed). */
  private readonly held: number[][];
  private loop: Promise<void> | null = null;
  private closed = false;

  /** The engine's `maxSlots` bounds the running batch. */
  constructor(
    readonly engine: Engine,
    readonly options: SchedulerOptions,
  ) {
    this.freeSlots = Array.from({ length: engine.maxSlots }, (_, i) => engine.maxSlots - 1 - i);
    this.held = Array.from({ length: engine.maxSlots }, () => []);
  }

  /** Requests waiting for a slot. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Sequences holding a slot. */
  get runningCount(): number {
    return this.running.size;
  }

  /** KV-cache positions held by running sequences (prompt prefilled so far plus generated tokens). */
  get kvPositionsInUse(): number {
    let n = 0;
    for (const s of this.running.values()) n += Math.max(s.prefilled, s.position);
    return n;
  }

  /** True while any sequence is queued or running. */
  get busy(): boolean {
    return this.waiting.length > 0 || this.running.size > 0;
  }

  /** Queues a sequence. Throws `QueueFullError` when the queue is full, or an Error after `close()`. */
  submit(req: SequenceRequest): SequenceHandle {
    if (this.closed) throw new Error('scheduler: closed, not accepting requests');
    if (this.waiting.length >= this.options.maxQueue) throw new QueueFullError(this.options.maxQueue);
    const room = req.maxTokens > 0 ? this.engine.maxContext - 1 : this.engine.maxContext;
    if (req.prompt.length < 1 || req.prompt.length > room) {
      throw new Error(
        `scheduler: prompt of ${req.prompt.length} tokens must be in [1, ${room}] (context ${this.engine.maxContext})`,
      );
    }
    const now = performance.now();
    const seq: Sequence = {
      req,
      sampler: new Sampler(req.sampling),
      slot: -1,
      prefilled: 0,
      promptEntries: [],
      generated: 0,
      next: -1,
      position: 0,
      cancelled: false,
      done: false,
      arrived: now,
      lastTokenAt: now,
    };
    this.waiting.push(seq);
    this.kick();
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
    for (const s of this.running.values()) s.cancelled = true;
  }

  private kick(): void {
    if (this.loop) return;
    this.loop = this.run().finally(() => {
      this.loop = null;
      if (this.busy) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.busy) {
      this.reap();
      await this.admit();
      this.reap();
      await this.decodeStep();
      // Let sockets flush and new requests arrive between steps.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Frees the slots of cancelled or finished sequences. */
  private reap(): void {
    for (const s of [...this.running.values()]) {
      if (s.cancelled && !s.done) this.finish(s, 'cancelled');
    }
  }

  /**
   * Prefill work for this boundary, at most `prefillChunk` prompt tokens in all: first the sequences whose
   * prompt is partly in the cache (oldest first), then waiting sequences as slots are free. A long prompt is
   * prefilled in chunks across boundaries so the running batch keeps decoding between them. All chunks of one
   * boundary go to the engine as one batched forward when it has `prefillMany` (one pass over the weights).
   */
  private async admit(): Promise<void> {
    let budget = Math.max(1, this.options.prefillChunk ?? 512);
    const work: { seq: Sequence; start: number; n: number }[] = [];
    const take = (seq: Sequence) => {
      const n = Math.min(seq.req.prompt.length - seq.prefilled, budget);
      work.push({ seq, start: seq.prefilled, n });
      budget -= n;
    };
    for (const seq of this.running.values()) {
      if (budget <= 0) break;
      if (!seq.done && !seq.cancelled && seq.prefilled < seq.req.prompt.length) take(seq);
    }
    while (budget > 0 && this.waiting.length > 0 && this.freeSlots.length > 0) {
      const seq = this.waiting.shift()!;
      this.placeInSlot(seq);
      this.running.set(seq.slot, seq);
      take(seq);
    }
    if (work.length === 0) return;
    const requests = work.map(({ seq, start, n }) => ({
      slot: seq.slot,
      ids: seq.req.prompt.slice(start, start + n),
      start,
      allLogits: !!seq.req.promptLogprobs,
    }));
    let results: Array<Float32Array | Error>;
    if (requests.length > 1 && this.engine.prefillMany) {
      try {
        results = await this.engine.prefillMany(requests);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        results = requests.map(() => err);
      }
    } else {
      results = [];
      for (const r of requests) {
        try {
          results.push(await this.engine.prefill(r.slot, r.ids, { start: r.start, allLogits: r.allLogits }));
        } catch (e) {
          results.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
    this.options.metrics?.prefillBatchSize.observe(requests.length);
    for (let i = 0; i < work.length; i++) this.afterPrefill(work[i]!.seq, work[i]!.start, work[i]!.n, results[i]!);
  }

  /**
   * Gives `seq` a free slot, reusing cached prompt tokens when it can (see `prefixCacheMinTokens`): the free slot
   * holding the longest common prefix, or a copy of a longer one from a running sequence's slot.
   */
  private placeInSlot(seq: Sequence): void {
    const prompt = seq.req.prompt;
    const min = this.options.prefixCacheMinTokens ?? 16;
    // Prompt log-probabilities need every prompt position's logits, and one prompt token must remain to prefill.
    const cap = seq.req.promptLogprobs || min <= 0 ? 0 : prompt.length - 1;
    const matchOf = (slot: number) => Math.min(cap, commonPrefix(this.held[slot]!, prompt));
    let bestFree = -1;
    let freeLength = 0;
    for (const s of this.freeSlots) {
      const n = matchOf(s);
      if (n > freeLength) [bestFree, freeLength] = [s, n];
    }
    let donor = -1;
    let donorLength = 0;
    if (this.engine.copyPrefix) {
      for (const s of this.running.keys()) {
        const n = matchOf(s);
        if (n > donorLength) [donor, donorLength] = [s, n];
      }
    }
    let reuse = 0;
    if (freeLength >= min && freeLength >= donorLength) {
      seq.slot = bestFree;
      this.freeSlots.splice(this.freeSlots.indexOf(bestFree), 1);
      reuse = freeLength;
    } else {
      // The top of the stack, unless that slot holds a useful prefix that another free slot does not.
      seq.slot = this.freeSlots.pop()!;
      if (donorLength >= min) {
        this.engine.copyPrefix!(donor, seq.slot, donorLength);
        reuse = donorLength;
      }
    }
    this.held[seq.slot] = prompt.slice(0, reuse);
    seq.prefilled = reuse;
    if (reuse > 0) {
      this.options.metrics?.prefixCacheHits.inc();
      this.options.metrics?.prefixCacheTokens.inc({}, reuse);
    }
  }

  /** Records a prefilled chunk of `seq` (or its failure); samples the first token once the prompt is complete. */
  private afterPrefill(seq: Sequence, start: number, n: number, logits: Float32Array | Error): void {
    if (logits instanceof Error) {
      // What the failed forward left in the slot is unknown: it holds no reusable prefix.
      if (seq.slot >= 0) this.held[seq.slot] = [];
      this.finish(seq, 'error', logits);
      return;
    }
    const prompt = seq.req.prompt;
    const wantAll = !!seq.req.promptLogprobs;
    seq.prefilled += n;
    if (seq.slot >= 0) this.held[seq.slot] = prompt.slice(0, seq.prefilled);
    this.options.metrics?.promptTokens.inc({}, n);
    const v = this.engine.vocabSize;
    if (wantAll) {
      // Row r scores prompt token start + r + 1 (the last prompt position has nothing to score).
      for (let r = 0; r < n && start + r + 1 < prompt.length; r++) {
        const row = logits.subarray(r * v, (r + 1) * v);
        seq.promptEntries.push(tokenLogprobs(row, prompt[start + r + 1]!, Math.max(0, seq.req.topLogprobs)));
      }
    }
    if (seq.prefilled < prompt.length || seq.cancelled || seq.done) return;
    if (wantAll) seq.req.onPromptLogprobs?.(seq.promptEntries);
    seq.position = prompt.length;
    if (seq.req.maxTokens <= 0) this.finish(seq, 'length');
    else this.emit(seq, logits.subarray((wantAll ? n - 1 : 0) * v, (wantAll ? n : 1) * v));
  }

  private async decodeStep(): Promise<void> {
    const batch = [...this.running.values()].filter((s) => !s.done && !s.cancelled && s.next >= 0);
    if (batch.length === 0) return;
    const rows = batch.map((s) => ({ slot: s.slot, token: s.next, position: s.position }));
    let logits: Float32Array | undefined;
    let picks: SampledRow[] | undefined;
    try {
      if (this.engine.decodeSampled) {
        // Sampling on the device: only ids (and logprobs when a request asks) come back.
        const topLogprobs = Math.max(-1, ...batch.map((s) => s.req.topLogprobs));
        picks = await this.engine.decodeSampled(
          rows,
          batch.map((s) => s.sampler.draw()),
          topLogprobs,
        );
      } else logits = await this.engine.decode(rows);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const s of batch) this.finish(s, 'error', err);
      return;
    }
    this.options.metrics?.batchSize.observe(batch.length);
    const v = this.engine.vocabSize;
    batch.forEach((s, i) => {
      s.position++;
      if (s.done) return;
      if (s.cancelled) this.finish(s, 'cancelled');
      else if (picks) this.deliver(s, picks[i]!);
      else this.emit(s, logits!.subarray(i * v, (i + 1) * v));
    });
  }

  /** Samples from one logits row on the host and delivers the token. */
  private emit(seq: Sequence, row: Float32Array): void {
    const id = seq.sampler.sample(row);
    this.deliver(seq, seq.req.topLogprobs >= 0 ? { id, ...tokenLogprobs(row, id, seq.req.topLogprobs) } : { id });
  }

  /** Delivers a chosen token and decides whether the sequence goes on. */
  private deliver(seq: Sequence, pick: SampledRow): void {
    const id = pick.id;
    seq.sampler.observe(id);
    seq.generated++;
    const now = performance.now();
    const m = this.options.metrics;
    if (m) {
      if (seq.generated === 1) m.timeToFirstToken.observe((now - seq.arrived) / 1000);
      else m.interTokenLatency.observe((now - seq.lastTokenAt) / 1000);
      m.generatedTokens.inc();
    }
    seq.lastTokenAt = now;
    const eos = seq.req.eosIds.includes(id);
    const ev: TokenEvent = { id, eos };
    if (seq.req.topLogprobs >= 0) {
      ev.logprob = pick.logprob;
      ev.top = (pick.top ?? []).slice(0, seq.req.topLogprobs);
    }
    let stop = false;
    try {
      stop = seq.req.onToken(ev) === true;
    } catch (e) {
      this.finish(seq, 'error', e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (eos || stop) this.finish(seq, 'stop');
    // Prompt plus output never exceeds the context (OpenAI's rule): the new token sits at `position`.
    else if (seq.generated >= seq.req.maxTokens || seq.position + 1 >= this.engine.maxContext) {
      this.finish(seq, 'length');
    } else seq.next = id;
  }

  private finish(seq: Sequence, reason: FinishReason, error?: Error): void {
    if (seq.done) return;
    seq.done = true;
    if (seq.slot >= 0) {
      this.running.delete(seq.slot);
      this.engine.release(seq.slot);
      this.freeSlots.push(seq.slot);
      seq.slot = -1;
    }
    this.options.metrics?.finished.inc({ reason });
    try {
      seq.req.onFinish(reason, error);
    } catch {
      // A handler's failure must not stop the batch.
    }
  }
}
