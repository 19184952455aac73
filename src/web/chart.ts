// Latency over time of one load or chaos run, as inline SVG drawn on the server from the run's
// one-second windows (p50 and p99 per second, seconds with errors marked). No script, no library:
// the page shows it as it is, and a table beside it says the same in numbers for screen readers.

import type { RunSeries } from './evidence-view';
import { escapeHtml } from './html';

const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function latencyChart(series: RunSeries, threshold: number | null): string {
  const points = series.windows.filter((w) => w.p50 !== null || w.p99 !== null);
  const title = `${series.gate}: latency per second of run ${series.runId}`;
  if (points.length === 0) {
    return `<p class="muted">${escapeHtml(title)}: no answered requests in any window.</p>`;
  }
  const maxSecond = Math.max(...series.windows.map((w) => w.second), 1);
  const highest = Math.max(...points.map((w) => Math.max(w.p99 ?? 0, w.p50 ?? 0)));
  // The threshold is drawn when it is near the data; far above it, it would flatten the lines.
  const showLimit = threshold !== null && threshold <= highest * 2;
  const top = niceMax(showLimit ? Math.max(highest, threshold) : highest);
  const x = (s: number) => PAD.left + (s / maxSecond) * (W - PAD.left - PAD.right);
  const y = (ms: number) => PAD.top + (1 - ms / top) * (H - PAD.top - PAD.bottom);
  const line = (pick: (w: (typeof points)[number]) => number | null) =>
    points
      .filter((w) => pick(w) !== null)
      .map((w, i) => `${i === 0 ? 'M' : 'L'}${x(w.second).toFixed(1)},${y(pick(w)!).toFixed(1)}`)
      .join(' ');
  const ticks = [0, top / 2, top]
    .map(
      (t) =>
        `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}"/>` +
        `<text class="tick" x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${+t.toFixed(1)}</text>`,
    )
    .join('');
  const errors = series.windows
    .filter((w) => w.errors > 0)
    .map(
      (w) =>
        `<rect class="err" x="${(x(w.second) - 2).toFixed(1)}" y="${PAD.top}" width="4" height="${H - PAD.top - PAD.bottom}"><title>second ${w.second}: ${w.errors} errors</title></rect>`,
    )
    .join('');
  const limit =
    showLimit && threshold !== null
      ? `<line class="limit" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(threshold)}" y2="${y(threshold)}"/>` +
        `<text class="tick" x="${W - PAD.right}" y="${y(threshold) - 4}" text-anchor="end">threshold ${threshold} ms</text>`
      : '';
  return `<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">
<title>${escapeHtml(title)}</title>${ticks}${errors}${limit}
<path class="p99" d="${line((w) => w.p99)}"/><path class="p50" d="${line((w) => w.p50)}"/>
<text class="tick" x="${PAD.left}" y="${H - 8}">0 s</text><text class="tick" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${maxSecond} s</text>
</svg>
<figcaption>${escapeHtml(series.gate)} (run <code>${escapeHtml(series.runId)}</code>): <span class="key p99">p99</span> <span class="key p50">p50</span> latency in ms per second${errors ? ', <span class="key err">seconds with errors</span>' : ''}${threshold !== null && !showLimit ? `; the threshold, ${threshold} ms, is far above` : ''}</figcaption>
</figure>`;
}
