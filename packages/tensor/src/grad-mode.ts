/**
 * Whether ops record the autograd tape. Off inside `noGrad`, and while backward rules run.
 *
 * @module
 */

let enabled = true;

/** True when ops on tensors that require grad record the tape (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(mode: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = mode;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = previous;
    throw e;
  }
  if (result instanceof Promise) {
    // Async: the mode stays set until the promise settles (do not interleave other grad work meanwhile).
    return result.finally(() => {
      enabled = previous;
    }) as T;
  }
  enabled = previous;
  return result;
}

/**
 * Runs `fn` (sync or async) without recording the autograd tape: its results do not require grad and keep no graph.
 * Use it for inference and for parameter updates.
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on (used by checkpoint to recompute a segment during backward). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
