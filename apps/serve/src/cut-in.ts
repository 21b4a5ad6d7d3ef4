/**
 * Which waiting requests a cut-in takes (see `SchedulerOptions.cutIn`): a cut-in runs prompts between two layers
 * of the running step, so their first tokens wait for one layer of it, while the running decodes wait for them.
 *
 * @module
 */
import type { ScheduledSequence } from './scheduled-sequence.js';

/**
 * The waiting sequences a cut-in admits now, oldest first: all that `room` (free batch slots) admits, when their
 * prompt rows to compute (after `reused` positions from the prefix cache) fit `maxRows` in all; else none. A burst
 * larger than that (clients in lockstep) is cheaper prefilled in one step beside the decodes than in cut-ins that
 * each hold the decodes back. Preempted sequences (generated tokens to recompute) and prompt scoring go through the
 * steps.
 */
export function cutInCandidates(
  waiting: readonly ScheduledSequence[],
  room: number,
  maxRows: number,
  reused: (seq: ScheduledSequence) => number,
): ScheduledSequence[] {
  const next = waiting.slice(0, Math.max(0, room));
  let rows = 0;
  for (const seq of next) {
    if (seq.req.promptLogprobs || seq.tokens.length > seq.req.prompt.length) return [];
    rows += seq.tokens.length - reused(seq);
  }
  return rows <= maxRows ? next : [];
}
