/**
 * The progress view of a sweep: one line per grid point (budget, size, tokens, a bar, step, loss), redrawn in place on
 * a terminal; without one, a line each time a point changes state.
 *
 * @module
 */
import { formatCount } from './plan.js';
import type { SweepPoint } from './sweep-config.js';
import type { PointState } from './sweep-state.js';

/** What the scheduler knows about a point beyond its disk state. */
export type PointPhase = 'queued' | 'running' | 'done' | 'failed';

/** A point's line of the view. */
export interface PointView {
  point: SweepPoint;
  phase: PointPhase;
  state: PointState;
}

function bar(fraction: number, width = 16): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** One line of the view. */
export function formatPointLine(view: PointView): string {
  const { point, phase, state } = view;
  const step = phase === 'done' ? point.steps : state.loggedStep;
  const loss =
    state.valLoss !== undefined
      ? `val ${state.valLoss.toFixed(4)}`
      : state.trainLoss !== undefined
        ? `train ${state.trainLoss.toFixed(4)}`
        : '';
  return [
    String(point.index).padStart(3),
    point.flops.toExponential(1).padStart(8),
    formatCount(point.model.params).padStart(8),
    formatCount(point.tokens).padStart(8),
    bar(step / point.steps),
    `${step}/${point.steps}`.padStart(11),
    phase.padEnd(8),
    loss,
  ].join('  ');
}

/** The whole view: a header, one line per point, a summary. */
export function formatSweepView(views: readonly PointView[], outDir: string): string[] {
  const count = (phase: PointPhase) => views.filter((v) => v.phase === phase).length;
  return [
    `sweep ${outDir}: ${views.length} points — ${count('done')} done, ${count('running')} running, ` +
      `${count('queued')} queued, ${count('failed')} failed`,
    `  #    budget    params    tokens  progress                 steps  status    loss`,
    ...views.map(formatPointLine),
  ];
}

/** Draws the view: in place on a TTY, else only lines whose phase changed. */
export class SweepProgress {
  private drawn = 0;
  private readonly phases = new Map<number, PointPhase>();

  constructor(
    private readonly outDir: string,
    private readonly stream: NodeJS.WriteStream = process.stdout,
  ) {}

  /** Redraws (TTY) or reports changes (no TTY). */
  render(views: readonly PointView[]): void {
    if (this.stream.isTTY) {
      const lines = formatSweepView(views, this.outDir);
      // Move up over the previous frame and overwrite it line by line.
      let out = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
      for (const line of lines) out += `\x1b[2K${line.slice(0, (this.stream.columns ?? 200) - 1)}\n`;
      this.stream.write(out);
      this.drawn = lines.length;
      return;
    }
    for (const view of views) {
      if (this.phases.get(view.point.index) === view.phase) continue;
      this.phases.set(view.point.index, view.phase);
      if (view.phase !== 'queued') this.stream.write(`${formatPointLine(view)}\n`);
    }
  }
}
