// The pictures in docs/observability.md, made from a real run:
//
//   npm run screenshots        (-- --no-traces: without Jaeger; -- --load-slack 10: on a busy machine)
//
// Needs Debian's `prometheus` and `chromium` (apt-get install prometheus chromium; STRATA_CHROMIUM
// names another Chromium) and Go, which builds the Temporal CLI and Jaeger once into
// ~/.cache/strata (Jaeger's first build takes many minutes; --no-traces skips Jaeger).
//
// In a temporary folder, removed afterwards, it starts a Temporal dev server, Jaeger, a worker
// with /metrics and a Prometheus scraping it every second with Strata's alert rules. It promotes
// fraud-v2 through examples/ladder.yaml, approving each manual layer after a pause as the demo's
// approvers do; promotes fraud-v3, which fails a gate; and runs a DR drill of the mirror. Then it
// writes PNGs of Prometheus's graph page for a few key queries, and of its alerts page, into
// docs/img/ (headless Chromium, 1280 px wide), and replaces the trace summary between the
// `trace-summary` markers of docs/observability.md with the fraud-v2 promotion's trace as
// Jaeger's query API returns it. About five minutes once Jaeger is built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { approveUntilDone, EXAMPLES_DIR, prepareDemoData } from '../src/cli/demo';
import { loadCandidate } from '../src/config/candidate';
import { layerRange, loadLadder } from '../src/config/ladder';
import type { LadderSpec } from '../src/domain/ladder';
import { strataPaths } from '../src/paths';
import { LocalProvider } from '../src/providers/local';
import { ensureTemporalCli } from '../src/temporal/cli';
import { tracingClientOptions } from '../src/temporal/client-tracing';
import { runDrill } from '../src/temporal/drills';
import { getStatus, startPromotion } from '../src/temporal/promotions';
import { startDevServer } from '../src/temporal/server';
import { freePort } from '../src/tools/ports';
import { ensureJaeger, type RunningJaeger, startJaeger } from '../src/tracing/jaeger';
import { prometheusBinary, startPrometheus } from '../test/helpers/prometheus';
import { chromiumBinary, launchChromium, screenshotGraph, VIEWPORT } from '../test/helpers/prometheus-ui';
import { createStrataWorker } from '../workers/worker';
import { summariseTrace, type JaegerTrace } from './trace-summary';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'docs/img');
const DOC = path.join(ROOT, 'docs/observability.md');
const NAMESPACE = 'strata';
const TASK_QUEUE = 'strata-screenshots';
/** How long a manual layer waits before the script approves it: a visible step in the pending-approvals graph. */
const APPROVAL_PAUSE_MS = 20_000;

/** The queries shown, one PNG each (file name → PromQL and what it shows). */
const GRAPHS: Array<{ file: string; expr: string; shows: string; stacked?: boolean }> = [
  {
    file: 'promotions-by-outcome.png',
    expr: 'sum by (outcome) (max without (instance) (strata_promotions_finished_total))',
    shows: 'promotions finished, by outcome (stacked: one of each would hide each other)',
    stacked: true,
  },
  {
    file: 'pending-approvals.png',
    expr: 'max by (layer) (strata_pending_approvals)',
    shows: 'layers awaiting approval',
  },
  {
    file: 'layer-work-seconds.png',
    expr: 'sum by (layer) (strata_layer_phase_duration_seconds_sum)',
    shows: 'seconds of work per layer (every phase but the approval wait)',
  },
  {
    file: 'gate-verdicts.png',
    expr: 'sum by (layer, verdict) (strata_gate_verdicts_total)',
    shows: 'gate runs by layer and verdict',
  },
  {
    file: 'load-latency.png',
    expr: 'max by (layer, gate, quantile) (strata_load_latency_seconds{gate=~"slo.*"})',
    shows: 'latency quantiles of the SLO gates’ last load runs',
  },
  {
    file: 'drill-rto-rpo.png',
    expr:
      'label_replace(max by (layer, scenario) (strata_drill_rto_seconds), "objective", "rto", "", "") or ' +
      'label_replace(max by (layer, scenario) (strata_drill_rpo_seconds), "objective", "rpo", "", "")',
    shows: 'what the DR drill measured',
  },
];

function log(line: string): void {
  process.stderr.write(`screenshots: ${line}\n`);
}

async function main(): Promise<void> {
  const traces = !process.argv.includes('--no-traces');
  const slackArg = process.argv.indexOf('--load-slack');
  const slack = slackArg > 0 ? Number(process.argv[slackArg + 1]) : 1;
  if (!(slack >= 1)) throw new Error(`--load-slack takes a factor >= 1, got ${process.argv[slackArg + 1]}`);
  const chromium = chromiumBinary();
  const prometheus = prometheusBinary();
  if (!chromium || !prometheus) {
    throw new Error(
      `needs ${[!chromium && 'chromium', !prometheus && 'prometheus'].filter(Boolean).join(' and ')}: ` +
        'apt-get install chromium prometheus (or STRATA_CHROMIUM=<a Chromium>)',
    );
  }
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-screenshots-'));
  // Candidates run as their own user (docs/security.md): they must be able to pass through.
  fs.chmodSync(tmp, 0o711);
  const home = path.join(tmp, 'home');
  const paths = strataPaths(home);
  const provider = new LocalProvider(home);
  // The demo's masking keyring, here rather than in ~/.config: nothing outlives the run.
  process.env.STRATA_KEYRING = path.join(tmp, 'keyring.yaml');
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const cli = await ensureTemporalCli();
    const port = await freePort();
    const server = await startDevServer({
      cli,
      dbFile: path.join(tmp, 'temporal.db'),
      logFile: path.join(tmp, 'temporal.log'),
      port,
      uiPort: port + 1,
      headless: true,
      namespace: NAMESPACE,
      retentionDays: 1,
    });
    stops.push(() => server.stop());
    log(`Temporal dev server at ${server.address}`);

    let jaeger: RunningJaeger | undefined;
    if (traces) {
      jaeger = await startJaeger({
        binary: await ensureJaeger(),
        dir: path.join(tmp, 'jaeger'),
        otlpHttpPort: await freePort(),
        queryPort: await freePort(),
        queryGrpcPort: await freePort(),
      });
      stops.push(() => jaeger!.stop());
      // Read by the worker and the client when they start: tracing on, one load request in fifty traced.
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
      process.env.STRATA_TRACE_SAMPLE_RATE = '0.02';
      log(`Jaeger's query API at ${jaeger.queryUrl}`);
    }

    const ladderFile = path.join(EXAMPLES_DIR, 'ladder.yaml');
    const ladder = withLoadSlack(loadLadder(ladderFile), slack);
    if (slack > 1) log(`the example ladder's load budgets relaxed × ${slack} (--load-slack)`);
    await prepareDemoData(home, ladder);
    const {
      worker,
      connection: workerConnection,
      metrics,
    } = await createStrataWorker({
      address: server.address,
      namespace: NAMESPACE,
      taskQueue: TASK_QUEUE,
      provider,
      paths,
      metricsPort: 0,
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await workerConnection.close();
      // The environments' candidate processes are detached on purpose: stop them.
      for (const layer of ladder.layers) await provider.teardown(layer.name).catch(() => undefined);
    });
    const prom = await startPrometheus(prometheus, `127.0.0.1:${metrics!.port}`, {
      ruleFiles: [path.join(ROOT, 'deploy/prometheus/alerts.yml')],
    });
    stops.push(() => prom.stop());
    log(`worker /metrics at ${metrics!.url}, scraped by Prometheus at ${prom.url}`);

    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: NAMESPACE, ...tracingClientOptions('strata-cli') });

    const promote = async (candidateDir: string) => {
      const candidate = await loadCandidate(path.join(EXAMPLES_DIR, 'candidates', candidateDir));
      const id = await startPromotion(client, {
        ladder,
        layers: layerRange(ladder),
        candidate,
        initiator: 'dana',
        taskQueue: TASK_QUEUE,
        artifacts: paths.artifacts,
      });
      const t0 = Date.now();
      log(`promoting ${candidate.name} ${candidate.version}: ${id}`);
      const status = await approveUntilDone(client, id, { approveAfterMs: APPROVAL_PAUSE_MS });
      log(`${id}: ${status.state} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      return status;
    };
    const good = await promote('fraud-v2');
    if (good.state !== 'promoted') {
      const failedGates = good.layers.flatMap((l) =>
        l.gates.filter((g) => !g.passed).map((g) => `${l.name}/${g.name}: ${g.detail}`),
      );
      throw new Error(
        `fraud-v2 was not promoted (${good.reason ?? good.state}): ${failedGates.join('; ') || 'no gate failed'}` +
          ' (a busy machine can miss the example latency budgets: run it again when it is quieter)',
      );
    }
    const bad = await promote('fraud-v3');
    if (bad.state !== 'failed') throw new Error(`fraud-v3 was expected to fail a gate, but is ${bad.state}`);
    const drill = await drillMirror(client, ladder);
    log(`DR drill of the mirror: ${drill}`);

    // Prometheus has the end of the run; a few more scrapes draw a flat tail after the last step.
    await prom.waitFor('strata_promotions_finished_total{outcome="failed"}', (r) => r[0]?.value === 1);
    await prom.waitFor('strata_drill_rto_seconds', (r) => r.length > 0);
    await new Promise((r) => setTimeout(r, 15_000));

    const minutes = Math.ceil((Date.now() - started) / 60_000) + 1;
    fs.mkdirSync(OUT, { recursive: true });
    const browser = await launchChromium(chromium);
    stops.push(() => browser.close());
    const page = await browser.newPage({ viewport: VIEWPORT });
    for (const g of GRAPHS) {
      const legend = await screenshotGraph(
        page,
        prom.url,
        { expr: g.expr, range: `${minutes}m`, stacked: g.stacked },
        path.join(OUT, g.file),
      );
      log(`docs/img/${g.file}: ${g.shows}; ${legend.length} series`);
    }
    await page.goto(`${prom.url}/classic/alerts`);
    await page.screenshot({ path: path.join(OUT, 'alerts.png') });
    log('docs/img/alerts.png: the alert rules of deploy/prometheus/alerts.yml and their state');

    if (jaeger) {
      const traceId =
        good.layers.find((l) => l.traceId)?.traceId ?? (await getStatus(client, good.id)).layers[0]?.traceId;
      if (!traceId) throw new Error(`${good.id} reports no trace id`);
      const trace = await fetchTrace(jaeger, traceId, good.candidate.name);
      const summary = summariseTrace(trace);
      replaceBlock(DOC, 'trace-summary', ['```', summary.trimEnd(), '```'].join('\n'));
      log(`docs/observability.md: trace ${traceId} summarised (${trace.spans.length} spans)`);
    }
    log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`while stopping: ${String(err)}`));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The ladder with its load budgets relaxed by `factor`: latency and SLO thresholds and chaos p99
 * budgets (ms) multiplied, SLO achieved-rate floors (%) divided. A machine shared with other work
 * misses the example's 250 ms budgets and 95 % rates now and then, and a failed fraud-v2 makes no
 * pictures; the graphs show what was measured either way. Everything else is as written.
 */
function withLoadSlack(ladder: LadderSpec, factor: number): LadderSpec {
  if (factor === 1) return ladder;
  const layers = ladder.layers.map((layer) => ({
    ...layer,
    gates: layer.gates.map((gate) => {
      const options = { ...gate.options };
      const budget = options.budget as { p99?: number } | undefined;
      if (budget?.p99 !== undefined) options.budget = { ...budget, p99: budget.p99 * factor };
      if (typeof options.achievedRate === 'number') options.achievedRate = options.achievedRate / factor;
      const timed = ['latency', 'slo'].includes(gate.type) && gate.threshold !== undefined;
      return { ...gate, ...(timed ? { threshold: gate.threshold! * factor } : {}), options };
    }),
  }));
  return { ...ladder, layers };
}

/** One drill of the mirror (a table dropped, then restored), so the drill metrics have values. */
async function drillMirror(client: Client, ladder: LadderSpec): Promise<string> {
  const mirror = ladder.layers.find((l) => l.name === 'mirror');
  if (!mirror) throw new Error('examples/ladder.yaml has no mirror layer');
  const report = await runDrill(client, TASK_QUEUE, {
    layer: mirror,
    ladder: { name: ladder.name },
    scenario: 'table-dropped',
    requestedBy: 'dana',
  });
  return report.verdict.met ? 'objectives met' : 'objectives missed';
}

/**
 * The trace as Jaeger's query API returns it, once the promotion workflow's span and the
 * candidate's spans are in (spans arrive in batches).
 */
async function fetchTrace(jaeger: RunningJaeger, traceId: string, candidate: string): Promise<JaegerTrace> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
    const trace = res.ok ? ((await res.json()) as { data: JaegerTrace[] }).data[0] : undefined;
    const services = Object.values(trace?.processes ?? {}).map((p) => p.serviceName);
    const done = trace?.spans.some((s) => s.operationName === 'RunWorkflow:promotion');
    if (trace && done && services.some((s) => s.startsWith(candidate))) return trace;
    if (Date.now() > deadline) throw new Error(`Jaeger has not got the whole trace ${traceId}: ${services.join(', ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Replaces what stands between `<!-- name -->` and `<!-- /name -->` in `file`. */
function replaceBlock(file: string, name: string, body: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} … ${end} block`);
  fs.writeFileSync(file, `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`screenshots: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
