/**
 * Stop-string matching over streamed text. Text that might be the start of a stop string is held back until the
 * next piece decides it, so a stop string never reaches the client, even when it spans several tokens.
 *
 * @module
 */

/** What `StopMatcher.push` decided: text safe to send now, and whether a stop string ended the output. */
export interface StopResult {
  /** Text to emit (never contains a stop string or a possible prefix of one that is still undecided). */
  text: string;
  /** True when a stop string was found; `text` then holds everything before it and the stream must end. */
  stopped: boolean;
}

/** Finds the first occurrence of any of `stops` in text pushed piece by piece. */
export class StopMatcher {
  private pending = '';
  private done = false;
  private readonly stops: string[];
  private readonly maxLen: number;

  /** Empty strings in `stops` are ignored. */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.maxLen = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Adds the next piece of output text. After a stop, further pushes return nothing. */
  push(piece: string): StopResult {
    if (this.done) return { text: '', stopped: true };
    if (this.stops.length === 0) return { text: piece, stopped: false };
    const buf = this.pending + piece;
    // The stop string that completes first wins (ties: the one that starts first), so the result does not
    // depend on how the text was split into pieces.
    let cut = -1;
    let end = Infinity;
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at < 0) continue;
      if (at + s.length < end || (at + s.length === end && at < cut)) {
        end = at + s.length;
        cut = at;
      }
    }
    if (cut >= 0) {
      this.done = true;
      this.pending = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (let len = Math.min(this.maxLen - 1, buf.length); len > 0; len--) {
      const tail = buf.slice(buf.length - len);
      if (this.stops.some((s) => s.startsWith(tail))) {
        hold = len;
        break;
      }
    }
    this.pending = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** Ends the stream without a stop: releases any held-back text. */
  flush(): string {
    const out = this.done ? '' : this.pending;
    this.pending = '';
    return out;
  }
}
