/**
 * One sequence as the scheduler holds it, and the life of a drawn token: accepted into the sequence's state when
 * its step returns (the sampler sees it, it is fed back), then delivered to the request handler — later, when the
 * engine steps off this thread and the next step starts first (see `Scheduler`).
 *
 * @module
 */
import { Sampler, tokenLogprobs } from '@andes/nn';
import type { SampledRow, StepChunk } from './engine.js';
import type { ServeMetrics } from './metrics.js';
import type { FinishReason, PromptLogprob, SequenceRequest, TokenEvent } from './sequence-request.js';

/** A submitted sequence: its request, sampler, positions and progress. */
export interface ScheduledSequence {
  id: number;
  req: SequenceRequest;
  sampler: Sampler;
  /** The prompt, then every generated token that is fed back (the sequence's positions in order). */
  tokens: number[];
  /** Positions whose keys/values are in the cache. */
  computed: number;
  /** Prompt log-probabilities gathered chunk by chunk (when requested). */
  promptEntries: PromptLogprob[];
  /** Tokens generated (accepted) so far. */
  generated: number;
  /** Holding blocks (admitted and not preempted since). */
  running: boolean;
  /** Its prompt runs in a cut-in (`Engine.cutIn`) now: no step plans it until that returns. */
  inCutIn: boolean;
  cancelled: boolean;
  done: boolean;
  /** Submission time and the last token's delivery time (ms, the scheduler's clock). */
  arrived: number;
  lastTokenAt: number;
}

/** A token drawn for a sequence and accepted into its state, not yet handed to its client. */
export interface Delivery {
  seq: ScheduledSequence;
  pick: SampledRow;
  eos: boolean;
  /** The sequence ends with this token (the caller takes it out of the batch): EOS (`stop`) or its length limit. */
  ending?: FinishReason;
}

/** A sequence for `req` as submitted at `now`: waiting, nothing computed. */
export function newSequence(id: number, req: SequenceRequest, now: number): ScheduledSequence {
  return {
    id,
    req,
    sampler: new Sampler(req.sampling),
    tokens: [...req.prompt],
    computed: 0,
    promptEntries: [],
    generated: 0,
    running: false,
    inCutIn: false,
    cancelled: false,
    done: false,
    arrived: now,
    lastTokenAt: now,
  };
}

/** Adds the prompt log-probabilities of a computed `chunk` of `seq` from its `logits` rows ([rows, vocab]). */
export function scorePrompt(seq: ScheduledSequence, chunk: StepChunk, logits: Float32Array, vocab: number): void {
  const prompt = seq.req.prompt;
  // Row r scores prompt token start + r + 1 (the last prompt position has nothing to score).
  for (let r = 0; r < chunk.ids.length && chunk.start + r + 1 < prompt.length; r++) {
    if (seq.promptEntries.length > chunk.start + r) continue;
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    seq.promptEntries.push(tokenLogprobs(row, prompt[chunk.start + r + 1]!, Math.max(0, seq.req.topLogprobs)));
  }
}

/** The next `n` pending positions of `seq` as a step chunk; the one completing them draws the next token. */
export function stepChunk(seq: ScheduledSequence, n: number): StepChunk {
  const allLogits = !!seq.req.promptLogprobs && seq.computed < seq.req.prompt.length;
  const ids = seq.tokens.slice(seq.computed, seq.computed + n);
  const chunk: StepChunk = { seq: seq.id, ids, start: seq.computed, allLogits };
  // The chunk that completes every pending position also draws the next token (one uniform per token).
  if (seq.computed + n === seq.tokens.length && seq.req.maxTokens > 0) {
    chunk.sample = seq.sampler.draw();
    chunk.topLogprobs = seq.req.topLogprobs;
  } else if (seq.computed + n < seq.tokens.length) chunk.skipLogits = true;
  return chunk;
}

/**
 * Accepts a token drawn on the device into `seq`: the sampler sees it, and it is fed back unless it ends the
 * sequence (EOS; max tokens; the context, as prompt plus output never exceeds it, OpenAI's rule).
 */
export function acceptToken(seq: ScheduledSequence, pick: SampledRow, maxContext: number): Delivery {
  seq.sampler.observe(pick.id);
  seq.generated++;
  const eos = seq.req.eosIds.includes(pick.id);
  const d: Delivery = { seq, pick, eos };
  if (eos) d.ending = 'stop';
  else if (seq.generated >= seq.req.maxTokens || seq.tokens.length + 1 >= maxContext) d.ending = 'length';
  else seq.tokens.push(pick.id);
  return d;
}

/**
 * Hands an accepted token to the request handler at time `now` (prompt log-probabilities first, with the first
 * token) and records its latency; returns how the sequence ends here: `stop` (EOS, or the handler said stop), its
 * length limit, the handler's error, or undefined (it goes on).
 */
export function deliverToken(d: Delivery, now: number, metrics?: ServeMetrics): FinishReason | Error | undefined {
  const { seq, pick, eos } = d;
  if (seq.generated === 1 && seq.req.promptLogprobs) seq.req.onPromptLogprobs?.(seq.promptEntries);
  if (metrics) {
    if (seq.generated === 1) metrics.timeToFirstToken.observe((now - seq.arrived) / 1000);
    else metrics.interTokenLatency.observe((now - seq.lastTokenAt) / 1000);
    metrics.generatedTokens.inc();
  }
  seq.lastTokenAt = now;
  const ev: TokenEvent = { id: pick.id, eos };
  if (seq.req.topLogprobs >= 0) {
    ev.logprob = pick.logprob;
    ev.top = pick.top ?? [];
  }
  let stop = false;
  try {
    stop = seq.req.onToken(ev) === true;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  return eos || stop ? 'stop' : d.ending;
}
