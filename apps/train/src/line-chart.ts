/**
 * The one SVG chart writer of andes-train: line series with optional markers on linear or log axes, a legend, dashed
 * reference lines. The loss chart of a run and the scaling-law charts of a sweep are both drawn by it.
 *
 * @module
 */

/** `[x, y]` points. */
export type Points = readonly (readonly [number, number])[];

/** One series of a {@link LineChart}. */
export interface ChartSeries {
  label?: string;
  points: Points;
  /** CSS colour. */
  color: string;
  /** Line width; 0 draws markers only. Default 1.5. */
  width?: number;
  /** Dash pattern, e.g. "6 4". */
  dash?: string;
  /** Marker radius; 0 or undefined: none. */
  markers?: number;
  /** Hollow markers (open circles). */
  hollow?: boolean;
}

/** A chart: series, axes, references. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Logarithmic x axis (decades). */
  logX?: boolean;
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Horizontal dashed reference lines. */
  references?: readonly { label: string; value: number }[];
  /** Do not start the y axis at 0 or below (loss charts clamp at 0). Default: clamp at 0 on linear axes. */
  yFloor?: number;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 60, right: 20, top: 36, bottom: 44 };

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Ticks of a log axis over [lo, hi] (positive): 1, 2, 5 × 10^k when the range is short, powers of 10 when long. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(hi > lo) || !(lo > 0)) return [lo];
  const decades = Math.log10(hi / lo);
  const mantissas = decades <= 2 ? [1, 2, 5] : decades <= 5 ? [1] : [1];
  const stride = decades > 8 ? Math.ceil(decades / 8) : 1;
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e += stride)
    for (const m of mantissas) {
      const t = m * 10 ** e;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(Number(t.toPrecision(12)));
    }
  return ticks;
}

/** Escapes text for SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** Compact tick labels: 3e+10 → "3e10", 0.25 → "0.25". */
function tickLabel(value: number, log: boolean): string {
  if (!log || (Math.abs(value) >= 0.01 && Math.abs(value) < 1e5)) return String(value);
  return value.toExponential(0).replace('e+', 'e');
}

/** Renders the chart as a standalone SVG document. */
export function renderLineChart(chart: LineChart): string {
  const finite = (v: number, log: boolean | undefined) => Number.isFinite(v) && (!log || v > 0);
  const all = chart.series.flatMap((s) => s.points).filter(([x, y]) => finite(x, chart.logX) && finite(y, chart.logY));
  const xs = all.map(([x]) => x);
  const ys = [...all.map(([, y]) => y), ...(chart.references ?? []).map((r) => r.value)];
  const tx = (v: number) => (chart.logX ? Math.log10(v) : v);
  const ty = (v: number) => (chart.logY ? Math.log10(v) : v);
  let xMin = xs.length ? Math.min(...xs) : chart.logX ? 1 : 0;
  let xMax = xs.length ? Math.max(...xs) : xMin + 1;
  if (!(xMax > xMin)) xMax = chart.logX ? xMin * 10 : xMin + 1;
  let yMin = ys.length ? Math.min(...ys) : 0;
  if (!chart.logY) yMin = Math.max(chart.yFloor ?? 0, yMin);
  let yMax = ys.length ? Math.max(...ys) : 1;
  if (!(yMax > yMin)) yMax = chart.logY ? yMin * 10 : yMin + 1e-6;
  if (chart.logX) [xMin, xMax] = [xMin / 1.15, xMax * 1.15]; // room for markers at the ends
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((tx(x) - tx(xMin)) / (tx(xMax) - tx(xMin))) * plotW;
  const py = (y: number) => MARGIN.top + (1 - (ty(y) - ty(yMin)) / (ty(yMax) - ty(yMin))) * plotH;
  const inside = ([x, y]: readonly [number, number]) =>
    finite(x, chart.logX) && finite(y, chart.logY) && y >= yMin && y <= yMax;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`, // what screen readers announce
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of chart.logY ? logTicks(yMin, yMax) : niceTicks(yMin, yMax)) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(t, !!chart.logY)}</text>`,
    );
  }
  for (const t of chart.logX ? logTicks(xMin, xMax) : niceTicks(xMin, xMax)) {
    const x = px(t).toFixed(1);
    if (chart.logX)
      parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#f0f0f0"/>`);
    parts.push(
      `<text x="${x}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${tickLabel(t, !!chart.logX)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  for (const ref of chart.references ?? []) {
    const y = py(ref.value).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#999" stroke-dasharray="6 4"/>`,
      `<text x="${WIDTH - MARGIN.right - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#666">${escapeXml(ref.label)}</text>`,
    );
  }
  for (const s of chart.series) {
    const pts = s.points.filter(inside);
    const width = s.width ?? 1.5;
    if (width > 0 && pts.length > 0) {
      const d = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${width}"${dash}/>`);
    }
    if (s.markers)
      for (const [x, y] of pts) {
        const fill = s.hollow ? `fill="white" stroke="${s.color}" stroke-width="1.5"` : `fill="${s.color}"`;
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="${s.markers}" ${fill}/>`);
      }
  }
  const labelled = chart.series.filter((s) => s.label);
  labelled.forEach((s, i) => {
    const x = MARGIN.left + 12;
    const y = MARGIN.top + 14 + 16 * i;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    parts.push(
      `<line x1="${x}" x2="${x + 20}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${x + 26}" y="${y + 4}">${escapeXml(s.label!)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
