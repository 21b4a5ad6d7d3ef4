/**
 * Runs the choices of one HTTP request (n choices, or one per prompt for legacy completions) and tracks them as a
 * group: every choice submitted or none (429 when the queue cannot take them all), one cancel for all when the
 * client disconnects, and a promise that settles when the last choice ends.
 *
 * @module
 */
import { type ChoiceDelta, startChoice } from './choice.js';
import { ApiError } from './errors.js';
import type { FinishReason, PromptLogprob, Scheduler, SequenceHandle, SequenceRequest } from './scheduler.js';
import type { ServeTokenizer } from './served-model.js';

/** One choice to run: its output index and its sequence settings. */
export interface ChoiceSpec {
  index: number;
  request: Omit<SequenceRequest, 'onToken' | 'onFinish' | 'onPromptLogprobs'>;
  stops: readonly string[];
  /** Decode output as a continuation of the prompt (legacy completions). */
  continuePrompt?: boolean;
}

/** How each choice's progress is reported. */
export interface GroupCallbacks {
  onPromptLogprobs?(index: number, entries: PromptLogprob[]): void;
  onDelta(index: number, delta: ChoiceDelta): void;
  onChoiceDone(index: number, reason: FinishReason, completionTokens: number): void;
}

/** The running group. `done` resolves with the first error (if any choice failed or was cancelled). */
export interface ChoiceGroup {
  cancel(): void;
  done: Promise<{ error?: Error; cancelled: boolean }>;
}

/** Submits every choice; throws `ApiError` 429 (nothing submitted) when the queue has no room for all of them. */
export function runChoiceGroup(
  scheduler: Scheduler,
  tokenizer: ServeTokenizer,
  specs: readonly ChoiceSpec[],
  cb: GroupCallbacks,
): ChoiceGroup {
  if (specs.length > scheduler.queueRoom) {
    throw new ApiError(429, `The server's queue is full (${scheduler.options.maxQueue} waiting); retry later.`, {
      type: 'rate_limit_error',
      code: 'queue_full',
      retryAfter: 1,
    });
  }
  const handles: SequenceHandle[] = [];
  let remaining = specs.length;
  let firstError: Error | undefined;
  let cancelled = false;
  let resolve!: (v: { error?: Error; cancelled: boolean }) => void;
  const done = new Promise<{ error?: Error; cancelled: boolean }>((r) => (resolve = r));
  for (const spec of specs) {
    const request = {
      ...spec.request,
      onPromptLogprobs: cb.onPromptLogprobs ? (e: PromptLogprob[]) => cb.onPromptLogprobs!(spec.index, e) : undefined,
    };
    handles.push(
      startChoice(
        scheduler,
        tokenizer,
        request,
        spec.stops,
        {
          onDelta: (d) => cb.onDelta(spec.index, d),
          onDone: (reason, count, error) => {
            if (reason === 'error') firstError ??= error ?? new Error('generation failed');
            if (reason === 'cancelled') cancelled = true;
            else if (reason !== 'error') cb.onChoiceDone(spec.index, reason, count);
            if (--remaining === 0) resolve({ error: firstError, cancelled });
          },
        },
        spec.continuePrompt,
      ),
    );
  }
  return {
    cancel: () => {
      for (const h of handles) h.cancel();
    },
    done,
  };
}
