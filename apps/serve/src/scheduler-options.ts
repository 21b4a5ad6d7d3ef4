/**
 * The scheduler's settings: queue bound, prefill budget and its step-time target, prefix caching, metrics.
 *
 * @module
 */
import type { ServeMetrics } from './metrics.js';
import type { PrefillFirstPolicy } from './prefill-first.js';

/**
 * The default window of refill waits in milliseconds (`SchedulerOptions.refillWaitMs`): on lavapipe, the next request
 * of a closed-loop client arrived 8–34 ms after the end of its last one (p50 12.5 ms) while a step was running.
 */
export const DEFAULT_REFILL_WAIT_MS = 20;

/** Scheduler options. */
export interface SchedulerOptions {
  /** Most requests waiting for admission before `submit` throws `QueueFullError`. */
  maxQueue: number;
  /**
   * Most prompt tokens prefilled per step (default 512), on top of one decode token per running sequence; longer
   * prompts are prefilled in chunks over several steps, each mixed with the running decodes.
   */
  prefillChunk?: number;
  /**
   * Wall milliseconds a step with prefill should take (default 100; 0 turns the bound off): once the scheduler has
   * measured steps of different sizes, a step prefills only the prompt tokens whose predicted cost fits beside its
   * decodes, and never fewer than `minPrefillChunk`.
   */
  targetStepMs?: number;
  /** Prompt tokens a step may always prefill, whatever the cost model predicts (default 64). */
  minPrefillChunk?: number;
  /**
   * Prefill first: a step that has prompt tokens to prefill runs them alone, ahead of the running decodes, so a new
   * request's first token waits for its own prefill only and not for a whole batch's decode rows. This trades
   * inter-token latency (and some throughput) for time to first token, as vLLM's first scheduler did. `true`: every
   * such step, never two in a row. `'adaptive'`: a prefill-only step runs while the decodes' wait for their next token,
   * its predicted cost included, stays within three predicted decode steps, only when it finishes a prompt and is
   * predicted to bring its first token 1.5 times sooner than beside the decodes, and never while requests wait for a
   * slot (their first tokens then wait for throughput, which such steps cost; see prefill-first.ts). `false`: prompts
   * always go beside the decodes. Default: `'adaptive'` where the engine steps on this thread (WebGPU: on lavapipe it
   * took the 16-client TTFT p95 from 1.96–2.08× the one-client one to 1.55–1.91× for 17–22 % of the 16-client
   * tokens/s), false where it steps off it (an engine worker, whose cut-ins serve new prompts).
   */
  prefillFirst?: PrefillFirstPolicy;
  /**
   * Cut-ins (default true, where the engine offers `Engine.cutIn`: an engine worker on the CPU backend): requests
   * that arrive while a step runs are admitted at once and their prompts run between two layers of that step, so a
   * first token waits for one layer of the running batch instead of the rest of the step and the next step's decodes.
   * The running decodes wait for those prompts instead (at most `cutInMaxRows` rows at a time).
   */
  cutIn?: boolean;
  /** Most prompt rows one cut-in computes (default 64); a longer prompt waits for a step. */
  cutInMaxRows?: number;
  /**
   * Refill waits (see refill-wait.ts), in milliseconds: after a step in which sequences ended, the next step waits up
   * to this long after each end for the request its client sends next, so that prompt joins it instead of waiting
   * for the whole step and the one after; only while most recent ends were followed by an arrival that soon
   * (clients that keep requests in flight), never longer than a quarter of the last step, and no longer than it
   * takes the queue to hold enough prompts for the free slots. Only where the engine steps on this thread (WebGPU; an
   * engine worker overlaps steps with delivery, and its cut-ins serve arrivals during a step). 0 turns them off.
   * Default: {@link DEFAULT_REFILL_WAIT_MS}, 0 where the engine steps off this thread.
   */
  refillWaitMs?: number;
  /** The clock steps are timed with, in milliseconds (default `performance.now`; tests pass a fake one). */
  clock?: () => number;
  metrics?: ServeMetrics;
  /**
   * Prefix caching: a new sequence reuses the cached KV of its prompt's prefix (a system prompt that a running or
   * finished sequence computed: full blocks, and with `partialPrefix` the start of the next block) when it covers at
   * least this many tokens (default 1; 0 turns sharing off).
   */
  prefixCacheMinTokens?: number;
  /**
   * Prefix caching below block granularity (default true): where the shared full blocks stop, a new sequence also
   * copies the longest matching start of a cached block (see @andes/nn's `KvBlockPool`); false shares full blocks only.
   */
  partialPrefix?: boolean;
}
