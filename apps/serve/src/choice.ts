/**
 * One generated choice: submits a sequence to the scheduler and turns its token events into text deltas —
 * incremental UTF-8 decoding, stop strings held back until decided, and the token log-probabilities that go
 * with each piece of text.
 *
 * @module
 */
import type { FinishReason, Scheduler, SequenceHandle, SequenceRequest, TokenEvent } from './scheduler.js';
import type { ServeTokenizer } from './served-model.js';
import { StopMatcher } from './stop-strings.js';

/** A piece of output text with the generated tokens that produced it (possibly empty text). */
export interface ChoiceDelta {
  text: string;
  tokens: TokenEvent[];
}

/** How one choice reports back. */
export interface ChoiceSink {
  /** Output text as it is decided. */
  onDelta(delta: ChoiceDelta): void;
  /** Called once: the finish reason, token count, and the error if reason is `error`. */
  onDone(reason: FinishReason, completionTokens: number, error?: Error): void;
}

/**
 * Starts one choice. `req` carries prompt, limits and sampling; text handling is added here. With `continuePrompt`,
 * text is decoded as a continuation of the prompt (a first token's leading space is kept, as legacy completions
 * need); otherwise as a fresh text (chat replies start without it).
 */
export function startChoice(
  scheduler: Scheduler,
  tokenizer: ServeTokenizer,
  req: Omit<SequenceRequest, 'onToken' | 'onFinish'>,
  stops: readonly string[],
  sink: ChoiceSink,
  continuePrompt = false,
): SequenceHandle {
  const decoder = tokenizer.streamingDecoder();
  if (continuePrompt) for (const id of req.prompt) decoder.push(id);
  const matcher = new StopMatcher(stops);
  let pending: TokenEvent[] = [];
  let count = 0;
  let stoppedByString = false;
  const release = (text: string, force: boolean) => {
    if (text.length > 0 || (force && pending.length > 0)) {
      sink.onDelta({ text, tokens: pending });
      pending = [];
    }
  };
  return scheduler.submit({
    ...req,
    onToken(ev) {
      count++;
      pending.push(ev);
      if (ev.eos) return false;
      const r = matcher.push(decoder.push(ev.id));
      if (r.stopped) stoppedByString = true;
      release(r.text, r.stopped);
      return r.stopped;
    },
    onFinish(reason, error) {
      if (!stoppedByString) {
        const r = matcher.push(decoder.flush());
        if (r.stopped) reason = 'stop';
        release(r.stopped ? r.text : r.text + matcher.flush(), true);
      } else release('', true);
      sink.onDone(reason, count, error);
    },
  });
}
