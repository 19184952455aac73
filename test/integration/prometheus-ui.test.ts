import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import { bundleWorkflows } from '../../workers/worker';
import {
  artifactsOf,
  connectTestClient,
  ROOT,
  startTestWorker,
  teardownHome,
  tempHome,
  type TestWorker,
  uniqueTaskQueue,
} from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { prometheusBinary, startPrometheus, type TestPrometheus } from '../helpers/prometheus';
import { chromiumBinary, launchChromium, pngSize, screenshotGraph, VIEWPORT } from '../helpers/prometheus-ui';

// The screenshots in docs/observability.md (npm run screenshots) are Prometheus's graph page in
// headless Chromium over a real worker's metrics. This is that path, on one query: if the worker's
// series, Prometheus's UI or the browser stop working together, this fails.

const chromiumPath = chromiumBinary();
const prometheus = prometheusBinary();
const missing = [!chromiumPath && 'chromium (apt-get install chromium)', !prometheus && 'prometheus'].filter(Boolean);
const skip = missing.length > 0 && process.env.CI !== 'true'; // on CI, .ci/run installs both: never skip there
if (skip)
  console.warn(`prometheus-ui.test.ts skipped: no ${missing.join(' and no ')} here; .ci/run installs them on CI`);

const LADDER = parseLadder(
  `
name: ui-ladder
layers:
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.6 }
    approval: auto
`,
  'ui-ladder.yaml',
);

describe.skipIf(skip)("Prometheus's graph page in headless Chromium shows a real worker's series", () => {
  let client: Client;
  let connection: Connection;
  let home: string;
  let worker: TestWorker;
  let prom: TestPrometheus;
  let browser: Browser;
  let shots: string;

  beforeAll(async () => {
    if (!chromiumPath || !prometheus) throw new Error(`CI=true but no ${missing.join(' and no ')}: see .ci/run`);
    ({ client, connection } = await connectTestClient());
    home = tempHome('prometheus-ui');
    const taskQueue = uniqueTaskQueue('prometheus-ui');
    worker = await startTestWorker({ home, taskQueue, bundle: await bundleWorkflows(), metricsPort: 0 });
    prom = await startPrometheus(prometheus, `127.0.0.1:${worker.metrics!.port}`, {
      ruleFiles: [path.join(ROOT, 'deploy/prometheus/alerts.yml')],
    });
    browser = await launchChromium(chromiumPath);
    shots = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-shots-'));
    const id = await startPromotion(client, {
      ladder: LADDER,
      layers: LADDER.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    expect((await waitForResult(client, id)).state).toBe('promoted');
  });
  afterAll(async () => {
    await browser?.close();
    await prom?.stop();
    await worker?.stop();
    await connection?.close();
    if (home) await teardownHome(home);
    if (shots) fs.rmSync(shots, { recursive: true, force: true });
  });

  it('draws gate verdicts by gate and writes the PNG', async () => {
    await prom.waitFor('strata_gate_verdicts_total{layer="sandbox"}', (r) => r.length === 2);
    const page = await browser.newPage();
    const file = path.join(shots, 'gate-verdicts.png');
    const legend = await screenshotGraph(
      page,
      prom.url,
      { expr: 'sum by (layer, gate, verdict) (strata_gate_verdicts_total)', range: '5m' },
      file,
    );
    expect(legend.sort()).toEqual([
      '{gate="quality",layer="sandbox",verdict="pass"}',
      '{gate="schema",layer="sandbox",verdict="pass"}',
    ]);
    // The graph itself: one drawn line per series.
    expect(await page.locator('.graph_area svg path.path').count()).toBe(2);
    const size = pngSize(file);
    expect(size.width).toBe(VIEWPORT.width);
    expect(size.height).toBeGreaterThanOrEqual(VIEWPORT.height);
    expect(fs.statSync(file).size).toBeGreaterThan(10_000); // a drawn page, not a blank one
  });

  it("says so on the page when a query has no series, and the alert rules are Strata's", async () => {
    const page = await browser.newPage();
    await expect(
      screenshotGraph(page, prom.url, { expr: 'strata_pending_approvals' }, path.join(shots, 'none.png')),
    ).rejects.toThrow(/strata_pending_approvals: No datapoints found/);
    await page.goto(`${prom.url}/classic/alerts`);
    const text = await page.locator('body').innerText();
    for (const alert of ['StrataApprovalWaiting', 'StrataSloGateFailing', 'StrataWorkerNoPollers']) {
      expect(text).toContain(alert);
    }
  });
});
