import fs from 'node:fs';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import type { PromotionStatus } from '../../src/domain/status';
import { approve, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { WORKFLOWS_PATH } from '../../workers/worker';
import {
  artifactsOf,
  connectTestClient,
  ROOT,
  startTestWorker,
  teardownHome,
  tempHome,
  type TestWorker,
  uniqueTaskQueue,
  waitForStatus,
} from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { prometheusBinary, startPrometheus, type TestPrometheus } from '../helpers/prometheus';

const binary = prometheusBinary();
if (!binary) {
  console.warn(
    'metrics.test.ts skipped: no `prometheus` on PATH (apt-get install prometheus; .ci/run installs it on CI)',
  );
}

const LADDER = parseLadder(
  `
name: metrics-ladder
defaults: { rollback: previous }
layers:
  - name: sandbox
    seed: { rows: 1000, seed: 1 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.6 }
    approval: auto
  - name: traffic
    seed: { rows: 1000, seed: 3 }
    gates:
      - { type: quality, threshold: 0.78 }
    approval: { required: 1, approvers: [alice], expiry: 1h }
`,
  'metrics-ladder.yaml',
);

describe.skipIf(!binary)('worker /metrics scraped by a real Prometheus during promotions', () => {
  let client: Client;
  let connection: Connection;
  let home: string;
  let taskQueue: string;
  let worker: TestWorker;
  let prom: TestPrometheus;

  beforeAll(async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
    ({ client, connection } = await connectTestClient());
    home = tempHome('metrics');
    taskQueue = uniqueTaskQueue('metrics');
    worker = await startTestWorker({ home, taskQueue, bundle, metricsPort: 0 });
    prom = await startPrometheus(binary!, `127.0.0.1:${worker.metrics!.port}`);
  });
  afterAll(async () => {
    await prom?.stop();
    await worker?.stop();
    await connection?.close();
    if (home) await teardownHome(home);
  });

  const promote = async (name: 'fraud-v2' | 'fraud-v3') =>
    startPromotion(client, {
      ladder: LADDER,
      layers: LADDER.layers,
      candidate: await exampleCandidate(name),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
  const one = (r: Array<{ value: number }>) => (r.length === 1 ? r[0].value : undefined);

  it('exports gates, phases, approvals and outcomes, and the Core SDK metrics', async () => {
    const good = await promote('fraud-v2');
    await waitForStatus(
      client,
      good,
      (s: PromotionStatus) => s.layers.find((l) => l.name === 'traffic')?.phase === 'awaiting-approval',
    );
    // While the layer waits: one pending approval, and a phase-entered time in the past.
    await prom.waitFor('strata_pending_approvals{layer="traffic"}', (r) => one(r) === 1);
    const entered = await prom.query(
      'strata_layer_phase_entered_timestamp_seconds{layer="traffic",phase="awaiting-approval"}',
    );
    expect(one(entered)).toBeLessThanOrEqual(Date.now() / 1000);
    expect(one(entered)).toBeGreaterThan(Date.now() / 1000 - 120);
    await prom.waitFor('strata_approval_waiting_seconds{layer="traffic"}', (r) => (one(r) ?? -1) >= 0);

    await approve(client, good, { layer: 'traffic', actor: 'alice', reason: 'fine' });
    expect((await waitForResult(client, good)).state).toBe('promoted');

    const bad = await promote('fraud-v3');
    expect((await waitForResult(client, bad)).state).toBe('failed');

    await prom.waitFor('strata_promotions_finished_total{outcome="promoted"}', (r) => one(r) === 1);
    await prom.waitFor('strata_promotions_finished_total{outcome="failed"}', (r) => one(r) === 1);
    await prom.waitFor('strata_promotions_started_total', (r) => one(r) === 2);
    await prom.waitFor('strata_pending_approvals', (r) => r.length === 0);

    // Gates: the last verdict of traffic's quality gate is fraud-v3's failure, below its threshold.
    const passed = await prom.waitFor('strata_gate_passed{layer="traffic",gate="quality"}', (r) => one(r) === 0);
    expect(passed[0].metric.type).toBe('quality');
    expect(one(await prom.query('strata_gate_value{layer="traffic",gate="quality"}'))).toBeLessThan(0.78);
    expect(one(await prom.query('strata_gate_threshold{layer="traffic",gate="quality"}'))).toBe(0.78);
    const verdicts = await prom.query('sum by (verdict) (strata_gate_verdicts_total{layer="traffic",gate="quality"})');
    expect(Object.fromEntries(verdicts.map((v) => [v.metric.verdict, v.value]))).toEqual({ pass: 1, fail: 1 });
    expect(one(await prom.query('strata_gate_passed{layer="sandbox",gate="schema"}'))).toBe(1);

    // Phases and layer outcomes; the approval wait of the one approved layer.
    expect(one(await prom.query('strata_layer_phase_duration_seconds_count{layer="sandbox",phase="testing"}'))).toBe(4);
    expect(one(await prom.query('strata_layers_finished_total{layer="traffic",outcome="rolled-back"}'))).toBe(1);
    expect(one(await prom.query('strata_approval_wait_seconds_count{layer="traffic",outcome="promoted"}'))).toBe(1);
    expect(one(await prom.query('strata_populations_total{layer="sandbox",outcome="populated"}'))).toBe(2);

    // No promotion id or version ever becomes a label value.
    const series = await prom.query('{__name__=~"strata_.+",__name__!~"strata_worker_.+"}');
    // (instance and job are Prometheus's own labels: the scrape target's address.)
    const values = series.flatMap(({ metric: { instance: _i, job: _j, ...labels } }) => Object.values(labels));
    expect(values.length).toBeGreaterThan(0);
    expect(values.some((v) => v.includes(good) || v.includes(bad) || /\d+\.\d+\.\d+/.test(v))).toBe(false);

    // The Core SDK's runtime metrics come through the same scrape.
    const pollers = await prom.query(`temporal_num_pollers{task_queue="${taskQueue}"}`);
    expect(pollers.length).toBeGreaterThan(0);
    // Every Core metric the dashboard and the alerts read is scraped under that name.
    const deployed = ['deploy/grafana/strata.json', 'deploy/prometheus/alerts.yml']
      .map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'))
      .join('\n');
    for (const name of new Set(deployed.match(/\btemporal_[a-z0-9_]+/g))) {
      expect((await prom.query(`count(${name})`)).length, name).toBe(1);
    }
  });
});
