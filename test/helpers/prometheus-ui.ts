// Prometheus's own web UI in headless Chromium: the graph page of a PromQL query, its legend as
// text, and a PNG of the page. Used by test/integration/prometheus-ui.test.ts and by
// scripts/screenshots.ts (the screenshots in docs/observability.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium package (`apt-get install chromium`; .ci/run installs it on CI). */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The Chromium to drive: STRATA_CHROMIUM, else Debian's, else `chromium` on PATH; undefined if none. */
export function chromiumBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.STRATA_CHROMIUM) return env.STRATA_CHROMIUM;
  if (fs.existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Headless Chromium (playwright-core drives the browser the machine has; it downloads none). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true });
}

/** The window of every screenshot (a page taller than this is captured whole): modest PNGs. */
export const VIEWPORT = { width: 1280, height: 800 };

export interface GraphQuery {
  /** PromQL. */
  expr: string;
  /** The graph's time range, as the page's range box takes it (e.g. 15m, 1h). Default 15m. */
  range?: string;
  /** Stack the series (the page's "stacked" button): equal lines would hide one another. */
  stacked?: boolean;
}

/**
 * The graph page of one query. Debian's Prometheus 2.42 serves the classic UI only (its React UI is
 * not packaged): `/` and `/graph` redirect to `/classic/graph`, which takes the query in `g0.*`.
 */
export function graphUrl(base: string, q: GraphQuery): string {
  const params = new URLSearchParams({ 'g0.expr': q.expr, 'g0.tab': '0', 'g0.range_input': q.range ?? '15m' });
  if (q.stacked) params.set('g0.stacked', '1');
  return `${base}/classic/graph?${params}`;
}

/**
 * Opens the graph page of `q`, waits until the graph is drawn, writes a PNG of the page to `file`
 * and returns the legend's lines (one per series, e.g. `{outcome="promoted"}`). Fails with the
 * page's own message when the query errs or finds no data.
 */
export async function screenshotGraph(page: Page, base: string, q: GraphQuery, file: string): Promise<string[]> {
  await page.setViewportSize(VIEWPORT);
  await page.goto(graphUrl(base, q));
  // The page asks /api/v1/query_range, then draws the series and their legend, or shows an error.
  const drawn = page.locator('.rickshaw_legend li.line').first();
  const error = page.locator('.error.alert-danger').first();
  await Promise.race([drawn.waitFor({ timeout: 20_000 }), error.waitFor({ state: 'visible', timeout: 20_000 })]);
  if (await error.isVisible()) {
    throw new Error(`Prometheus's graph page for ${q.expr}: ${(await error.innerText()).trim()}`);
  }
  const legend = await page.locator('.rickshaw_legend li.line .label').allInnerTexts();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // The whole page: the legend sits below the graph, past 800 px when there are a few series.
  // The page is a little wider than the window (its form overflows by a few pixels): keep 1280.
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: VIEWPORT.width, height } });
  return legend;
}

/** Width and height of a PNG, read from its IHDR chunk (and proof that it is a PNG). */
export function pngSize(file: string): { width: number; height: number } {
  const head = Buffer.alloc(24);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 24, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    throw new Error(`${file} is not a PNG`);
  }
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}
