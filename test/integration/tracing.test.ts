import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { renderStatus } from '../../src/cli/render';
import { parseLadder } from '../../src/config/ladder';
import { layerWorkflowId } from '../../src/domain/promotion';
import { runDrill } from '../../src/temporal/drills';
import { getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { ensureJaeger, type RunningJaeger, startJaeger } from '../../src/tracing/jaeger';
import { freePort } from '../../src/tools/ports';
import { artifactsOf, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

// One promotion, traced end to end into a real Jaeger (built from the Go module proxy and cached
// like the Temporal CLI): the promote call, the promotion and layer workflows, every activity and
// gate, and — through the load gate's sampled traceparent — the candidate and its feature service.

let jaeger: RunningJaeger;
let jaegerDir: string;

// Before the worker suite's own beforeAll: the worker reads these when it starts.
beforeAll(async () => {
  const binary = await ensureJaeger(); // built once per machine; minutes the first time
  jaegerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-jaeger-'));
  jaeger = await startJaeger({
    binary,
    dir: jaegerDir,
    otlpHttpPort: await freePort(),
    queryPort: await freePort(),
    queryGrpcPort: await freePort(),
  });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
  process.env.STRATA_TRACE_SAMPLE_RATE = '1';
  process.env.STRATA_TRACE_URL = jaeger.queryUrl;
}, 1_800_000);

const suite = workerSuite('tracing');

afterAll(async () => {
  await jaeger?.stop();
  if (jaegerDir) fs.rmSync(jaegerDir, { recursive: true, force: true });
});

const ladder = parseLadder(
  `
name: traced-ladder
layers:
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates:
      - { type: schema, name: schema }
      - { type: latency, name: latency, threshold: 2000, options: { requests: 10 } }
    approval: auto
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates:
      # The traces are under test here, not the SLO: a generous p99, since a CI run once saw
      # 641 ms with every core busy (the chaos gate's budget below is met by the timeout anyway).
      - type: slo
        name: load
        threshold: 5000
        options:
          load: { phases: [ { constant: { rate: 20, duration: 2s } } ], maxConcurrency: 8 }
      - type: chaos
        name: dependency-slow
        options:
          fault: { type: latency, latency: 1s }
          load: { phases: [ { constant: { rate: 10, duration: 2s } } ], maxConcurrency: 16, timeoutMs: 3000 }
          budget: { errorRate: 0.01, p99: 500 }
          recovery: 2s
    approval: auto
    drills:
      table-dropped: { rto: 60s, rpo: 5s }
`,
  'traced-ladder.yaml',
);

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string; traceID: string }>;
  duration: number;
  tags: Array<{ key: string; value: unknown }>;
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

async function jaegerGet<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${jaeger.queryUrl}${pathAndQuery}`);
  if (!res.ok) throw new Error(`Jaeger ${pathAndQuery}: HTTP ${res.status}`);
  return ((await res.json()) as { data: T }).data;
}

/**
 * Spans whose parent is not in Jaeger, other than those of the layers' environment workflows (the
 * lease entities): they run on after the promotion, and a workflow's span is exported when its run ends.
 */
function unexpectedOrphans(spans: JaegerSpan[]): JaegerSpan[] {
  const ids = new Set(spans.map((s) => s.spanID));
  return spans.filter(
    (s) =>
      s.references.length > 0 &&
      !ids.has(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '') &&
      !/^(StartActivity|RunActivity|SignalWorkflow):lease/.test(s.operationName),
  );
}

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;

describe('traces of a promotion in Jaeger', () => {
  let client: Client;
  beforeAll(() => {
    client = suite.client;
  });

  it('is one trace from the promote call through every layer, activity and gate into the candidate and its feature service', async () => {
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue: suite.taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    // While it runs, a layer reports its trace id from its own workflow's span (the layerStatus query).
    const running = await waitForStatus(client, id, (s) =>
      s.layers.some((l) => l.phase === 'testing' && l.traceId !== undefined),
    );
    const runningTraceId = running.layers.find((l) => l.phase === 'testing')!.traceId;
    const result = await waitForResult(client, id);
    expect(result.state, JSON.stringify(result.layers.map((l) => l.gates))).toBe('promoted');

    // strata status: each layer's trace id (one trace: the same id), with a link to the trace UI.
    const status = await getStatus(client, id);
    const traceIds = new Set(status.layers.map((l) => l.traceId));
    expect(traceIds.size).toBe(1);
    const [traceId] = [...traceIds];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(runningTraceId).toBe(traceId);
    expect(renderStatus(status)).toContain(`${jaeger.queryUrl}/trace/${traceId}`);
    // The audit trail: a layer.traced entry per layer, naming the trace.
    const traced = (await auditTrail(client, id)).filter((e) => e.action === 'layer.traced');
    expect(traced.map((e) => e.layer)).toEqual(['sandbox', 'traffic']);
    expect(traced.every((e) => e.traceId === traceId && e.detail.includes(`/trace/${traceId}`))).toBe(true);

    // Jaeger: spans arrive in batches; wait until the candidate's and the feature service's are in.
    let trace: JaegerTrace | undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      trace = (await jaegerGet<JaegerTrace[]>(`/api/traces/${traceId}`).catch(() => []))[0];
      const services = new Set(Object.values(trace?.processes ?? {}).map((p) => p.serviceName));
      const workflowsDone = trace?.spans.some((s) => s.operationName === 'RunWorkflow:promotion');
      // A span can reach Jaeger a batch before its parent (the environment's lease activities run
      // on after the promotion ends): wait until every parent but the lease entities' is in.
      const complete = trace !== undefined && unexpectedOrphans(trace.spans).length === 0;
      if (workflowsDone && complete && services.has('fraud-scoring 2.0.0') && services.has('strata-feature-service'))
        break;
      if (Date.now() > deadline)
        throw new Error(
          `Jaeger has not got the whole trace: services ${JSON.stringify([...services])}, spans without their parent ${JSON.stringify(unexpectedOrphans(trace?.spans ?? []).map((s) => s.operationName))}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    const spans = trace!.spans;
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const parentOf = (s: JaegerSpan) => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    const ancestors = (s: JaegerSpan) => {
      const out: JaegerSpan[] = [];
      for (let p = parentOf(s); p; p = parentOf(p)) out.push(p);
      return out;
    };
    const service = (s: JaegerSpan) => trace!.processes[s.processID].serviceName;
    const named = (name: string) => spans.filter((s) => s.operationName === name);

    // One tree: a single root (the promote call). The only spans whose parent is not (yet) in
    // Jaeger are those of the layers' environment workflows (the lease entities): they run on
    // after the promotion, and a workflow's span is exported when its run ends.
    const roots = spans.filter((s) => s.references.length === 0);
    expect(roots.map((s) => s.operationName)).toEqual(['strata promote']);
    expect(unexpectedOrphans(spans)).toEqual([]);
    expect(tag(roots[0], 'strata.promotion')).toBe(id);
    expect(named('RunWorkflow:promotion')).toHaveLength(1);

    for (const layer of ladder.layers) {
      const run = named('RunWorkflow:layer').filter((s) => tag(s, 'workflowId') === layerWorkflowId(id, layer.name));
      expect(run, layer.name).toHaveLength(1);
      const inLayer = spans.filter((s) => ancestors(s).includes(run[0]));
      const ops = new Set(inLayer.map((s) => s.operationName));
      for (const activity of ['provisionEnvironment', 'populateEnvironment', 'deployCandidate', 'promoteRelease']) {
        expect(ops, `${layer.name}: ${activity}`).toContain(`RunActivity:${activity}`);
      }
      for (const gate of layer.gates) {
        const span = inLayer.find((s) => s.operationName === `gate ${gate.name}`);
        expect(span, `${layer.name}: gate ${gate.name}`).toBeDefined();
        expect(tag(span!, 'strata.gate.passed')).toBe(true);
      }
    }

    // Under the load gate: load requests → the candidate's predict → its feature lookup → the feature service.
    const under = (gate: string) => {
      const g = named(`gate ${gate}`)[0];
      return spans.filter((s) => ancestors(s).includes(g));
    };
    const load = under('load');
    const predicts = load.filter((s) => s.operationName === 'POST /predict' && service(s) === 'fraud-scoring 2.0.0');
    expect(predicts.length).toBeGreaterThan(10);
    expect(parentOf(predicts[0])!.operationName).toBe('POST /predict'); // the load generator's client span
    expect(service(parentOf(predicts[0])!)).toBe(service(named('RunWorkflow:promotion')[0])); // the worker's process
    const lookups = load.filter((s) => s.operationName === 'feature lookup');
    expect(lookups.length).toBeGreaterThan(10);
    const features = load.filter((s) => service(s) === 'strata-feature-service');
    expect(features.length).toBeGreaterThan(10);
    expect(features.every((s) => parentOf(s)?.operationName === 'feature lookup')).toBe(true);

    // The chaos gate slowed the dependency by 1 s: v2's lookups give up after its 150 ms timeout,
    // and those lookups are the failed spans (the fault is where it shows).
    const chaosLookups = under('dependency-slow').filter((s) => s.operationName === 'feature lookup');
    const failed = chaosLookups.filter((s) => tag(s, 'otel.status_code') === 'ERROR' || tag(s, 'error') === true);
    expect(failed.length).toBeGreaterThan(0);
    expect(Math.min(...failed.map((s) => s.duration))).toBeGreaterThanOrEqual(140_000); // µs
    expect(failed.some((s) => /no answer within 150 ms/.test(String(tag(s, 'otel.status_description'))))).toBe(true);
    // Without the fault, lookups fail far less often (a busy machine may miss 150 ms now and then).
    const failedShare = (xs: JaegerSpan[]) =>
      xs.filter((s) => tag(s, 'otel.status_code') === 'ERROR').length / xs.length;
    expect(failedShare(lookups)).toBeLessThan(failedShare(chaosLookups));

    // And the layers are in no other trace.
    const worker = service(named('RunWorkflow:promotion')[0]);
    const layerTraces = await jaegerGet<JaegerTrace[]>(
      `/api/traces?service=${encodeURIComponent(worker)}&operation=${encodeURIComponent('RunWorkflow:layer')}&lookback=1h&limit=50`,
    );
    const ofThisPromotion = layerTraces.filter((t) =>
      t.spans.some((s) => String(tag(s, 'workflowId') ?? '').startsWith(`${id}.`)),
    );
    expect(new Set(ofThisPromotion.map((t) => t.traceID))).toEqual(new Set([traceId]));
  });

  it('traces a DR drill: each step of it is a span in the drill trace', async () => {
    // The promotion above left 2.0.0 running in traffic: drill it.
    const report = await runDrill(client, suite.taskQueue, {
      layer: ladder.layers[1],
      ladder,
      scenario: 'table-dropped',
      requestedBy: 'erin',
    });
    expect(report.verdict.met).toBe(true);
    const steps = ['drillPrepare', 'drillInject', 'drillDetect', 'drillRecover', 'drillVerify', 'drillSaveReport'];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const traces = await jaegerGet<JaegerTrace[]>(
        `/api/traces?service=strata-test&operation=${encodeURIComponent('RunWorkflow:drill')}&lookback=1h&limit=5`,
      ).catch(() => []);
      const drill = traces.find((t) => t.spans.some((s) => s.operationName === 'RunWorkflow:drill'));
      const ops = new Set(drill?.spans.map((s) => s.operationName));
      if (drill && steps.every((step) => ops.has(`RunActivity:${step}`))) {
        const run = drill.spans.find((s) => s.operationName === 'RunWorkflow:drill')!;
        // Every step is under the drill workflow's span (StartActivity → RunActivity).
        const byId = new Map(drill.spans.map((x) => [x.spanID, x]));
        const under = (x: JaegerSpan): boolean => {
          for (let p = byId.get(x.references[0]?.spanID ?? ''); p; p = byId.get(p.references[0]?.spanID ?? '')) {
            if (p === run) return true;
          }
          return false;
        };
        for (const step of steps) {
          const span = drill.spans.find((x) => x.operationName === `RunActivity:${step}`)!;
          expect(under(span), step).toBe(true);
        }
        break;
      }
      if (Date.now() > deadline) throw new Error(`no complete drill trace in Jaeger: ${JSON.stringify([...ops])}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
