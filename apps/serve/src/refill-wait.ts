/**
 * Refill waits (see `SchedulerOptions.refillWaitMs`): after a step in which sequences ended, the next step may wait a
 * few milliseconds for the requests that their clients send next, so that those prompts join it and the freed batch
 * slots are refilled one step sooner.
 *
 * Why: clients that keep a fixed number of requests in flight (an evaluation harness, an agent loop, a batch job,
 * the load generator's closed-loop clients) send their next request as soon as the last one ends. The step after
 * the end has already started by the time it arrives (on WebGPU the engine steps on this thread and starts the next
 * step right after delivering), so the prompt waits for the whole of that step, then is prefilled in the one after:
 * its first token takes about two steps, where a lone client's takes one prompt step, and its slot stays empty for a
 * step. Measured on lavapipe (stories-15m, 16 clients): such requests arrived 8–34 ms after the end (p50 12.5 ms),
 * while a step took ~67 ms.
 *
 * The wait is learned, not assumed: {@link FollowUps} records whether each recent end was followed by an arrival
 * within the window, and the scheduler waits only while most were (traffic whose arrivals seldom come that soon after
 * an end never starts waiting; clients that stop following turn the waits off within 16 unanswered ends). A wait
 * stops as soon as every recent end has been followed (or the queue holds enough prompts to fill the free slots), so
 * it lasts about the clients' round trip; heavy open traffic, whose arrivals do come soon after ends, fills the freed
 * slots with them.
 *
 * @module
 */

/** How many recent ends the follow-up rate is measured over. */
const HISTORY = 32;
/** The share of recent ends followed by an arrival above which the scheduler waits (see {@link FollowUps.likely}). */
const LIKELY = 0.5;

/**
 * Ends of sequences and the arrivals that follow them: each arrival within `windowMs` of an end not yet followed
 * answers the oldest such end; an end that `windowMs` passes unanswered counts as not followed.
 */
export class FollowUps {
  /** Times of ends not yet followed, oldest first. */
  private readonly open: number[] = [];
  /** Outcomes of the last {@link HISTORY} ends (true: followed), oldest first. */
  private readonly outcomes: boolean[] = [];

  constructor(readonly windowMs: number) {}

  /** A sequence ended at `now` (its last token delivered). */
  ended(now: number): void {
    this.expire(now);
    this.open.push(now);
  }

  /** A request arrived at `now`: it answers the oldest end still open. */
  arrived(now: number): void {
    this.expire(now);
    if (this.open.shift() !== undefined) this.record(true);
  }

  /** Ends within the window not yet followed by an arrival. */
  unanswered(now: number): number {
    this.expire(now);
    return this.open.length;
  }

  /**
   * When a wait for the oldest open end stops: `capMs` after it, or its window's end if sooner (undefined: none
   * open).
   */
  deadline(now: number, capMs = this.windowMs): number | undefined {
    this.expire(now);
    const first = this.open[0];
    return first === undefined ? undefined : first + Math.min(capMs, this.windowMs);
  }

  /**
   * Whether ends are usually followed: more than {@link LIKELY} of the recent ends were, over at least a few ends
   * (with no history, no: waiting is what has to be earned).
   */
  likely(now: number): boolean {
    this.expire(now);
    const n = this.outcomes.length;
    if (n < 4) return false;
    return this.outcomes.filter(Boolean).length > LIKELY * n;
  }

  private expire(now: number): void {
    while (this.open.length > 0 && now - this.open[0]! > this.windowMs) {
      this.open.shift();
      this.record(false);
    }
  }

  private record(followed: boolean): void {
    this.outcomes.push(followed);
    if (this.outcomes.length > HISTORY) this.outcomes.shift();
  }
}
