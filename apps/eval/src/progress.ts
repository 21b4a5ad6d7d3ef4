/**
 * Progress reporting: a cli-progress bar on a terminal, plain log lines (every 10%) otherwise.
 * @module
 */
import cliProgress from 'cli-progress';
import type { ProgressCallback } from './model.js';

/** A progress display for one phase of work. */
export interface Progress {
  /** Feed this to the model calls. */
  update: ProgressCallback;
  /** Ends the display (prints the final line). */
  stop(): void;
}

/**
 * Starts a progress display labelled `label` on `stream` (default stderr). A TTY gets a bar; anything else gets
 * one line per 10% so logs stay readable.
 */
export function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else bar.update(done);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  let lastTotal = 0;
  let lastDone = 0;
  return {
    update(done, total) {
      lastTotal = total;
      lastDone = done;
      const tenth = total === 0 ? 10 : Math.floor((10 * done) / total);
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        // The real percentage: 4/80 is 5%, not the 0% of its tenth.
        stream.write(`${label}: ${done}/${total} (${Math.floor((100 * done) / total)}%)\n`);
      }
    },
    stop() {
      if (lastTotal > 0)
        stream.write(`${label}: ${lastDone}/${lastTotal} (${Math.round((100 * lastDone) / lastTotal)}%)\n`);
    },
  };
}
