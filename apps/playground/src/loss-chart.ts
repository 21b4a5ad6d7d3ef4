// The live loss chart of the Train tab: an SVG polyline redrawn from all losses so far. The values are also kept
// in the element's data-losses attribute (JSON), which the browser tests read.

const width = 600;
const height = 200;
const pad = 24;

/** Redraws `svg` for `losses` (nats per token, one per step). */
export function drawLossChart(svg: SVGSVGElement, losses: readonly number[]): void {
  svg.dataset.losses = JSON.stringify(losses);
  if (losses.length === 0) {
    svg.innerHTML = '';
    return;
  }
  const max = Math.max(...losses);
  const min = Math.min(0, ...losses);
  const x = (i: number) => pad + ((width - 2 * pad) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => height - pad - ((height - 2 * pad) * (v - min)) / Math.max(1e-9, max - min);
  const points = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = losses[losses.length - 1]!;
  svg.innerHTML =
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#bbb"/>` +
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#bbb"/>` +
    `<text x="${pad + 4}" y="${pad - 6}" font-size="11">${max.toFixed(2)}</text>` +
    `<text x="${width - pad}" y="${height - 6}" font-size="11" text-anchor="end">step ${losses.length}</text>` +
    `<polyline fill="none" stroke="#2b6cd6" stroke-width="2" points="${points}"/>` +
    `<text x="${width - pad}" y="${y(last) - 6}" font-size="11" text-anchor="end">${last.toFixed(3)}</text>`;
}
