/**
 * Live training progress: a cli-progress bar on a terminal, plain periodic lines otherwise (CI logs).
 *
 * @module
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { formatDuration } from './plan.js';

/** One update of the progress display. */
export interface ProgressUpdate {
  /** Optimizer steps completed. */
  step: number;
  /** Training loss of the latest step, nats per token. */
  loss: number;
  /** Learning rate of the latest step. */
  lr: number;
  /** Training throughput in tokens per second. */
  tokensPerSecond: number;
  /** Model FLOP utilisation, 0–1. */
  utilisation: number;
}

/** Options of {@link TrainProgress}. */
export interface TrainProgressOptions {
  /** Total optimizer steps of the run. */
  totalSteps: number;
  /** Step the run starts from (non-zero when resuming). */
  startStep: number;
  /** Draw a live bar; defaults to whether stdout and stderr are terminals. */
  tty?: boolean;
  /** Without a terminal, print one line every this many steps (and at the last step). */
  lineEvery?: number;
  /** Where plain lines and logs go; defaults to console.log. */
  print?: (line: string) => void;
}

/** Formats a learning rate compactly: 3.00e-4. */
function formatLr(lr: number): string {
  return lr.toExponential(2);
}

/** Shows step, loss, learning rate, tokens/s, utilisation and ETA while training. */
export class TrainProgress {
  private readonly multi?: MultiBar;
  private readonly bar?: SingleBar;
  private readonly print: (line: string) => void;
  private readonly lineEvery: number;
  private readonly startedAt = performance.now();
  private last?: ProgressUpdate;

  constructor(private readonly options: TrainProgressOptions) {
    this.print = options.print ?? ((line) => console.log(line));
    this.lineEvery = options.lineEvery ?? 10;
    const tty = options.tty ?? Boolean(process.stdout.isTTY && process.stderr.isTTY);
    if (tty) {
      this.multi = new MultiBar(
        {
          format: 'step {value}/{total} {bar} loss {loss} | lr {lr} | {tps} tok/s | util {util} | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 20,
          fps: 5,
        },
        Presets.shades_classic,
      );
      this.bar = this.multi.create(options.totalSteps, options.startStep, {
        loss: '-',
        lr: '-',
        tps: '-',
        util: '-',
      });
    }
  }

  /** Seconds left, from the mean step time of this process's steps. */
  private etaSeconds(step: number): number {
    const done = step - this.options.startStep;
    if (done <= 0) return Number.NaN;
    const perStep = (performance.now() - this.startedAt) / 1000 / done;
    return perStep * (this.options.totalSteps - step);
  }

  /** Records the latest step. */
  update(u: ProgressUpdate): void {
    this.last = u;
    const fields = {
      loss: u.loss.toFixed(4),
      lr: formatLr(u.lr),
      tps: u.tokensPerSecond.toFixed(0),
      util: `${(u.utilisation * 100).toFixed(1)}%`,
    };
    if (this.bar) {
      this.bar.update(u.step, fields);
      return;
    }
    if (u.step % this.lineEvery === 0 || u.step === this.options.totalSteps || u.step === this.options.startStep + 1) {
      const eta = this.etaSeconds(u.step);
      this.print(
        `step ${u.step}/${this.options.totalSteps} | loss ${fields.loss} | lr ${fields.lr} | ${fields.tps} tok/s | ` +
          `util ${fields.util} | ETA ${Number.isFinite(eta) ? formatDuration(eta) : '-'}`,
      );
    }
  }

  /** Prints a line without breaking the bar (validation results, samples, checkpoints). */
  log(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.print(line);
  }

  /** Stops the bar, leaving its last state on screen. */
  stop(): void {
    if (this.multi) {
      if (this.last) this.bar?.update(this.last.step);
      this.multi.stop();
    }
  }
}
