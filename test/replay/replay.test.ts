import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { installRuntime, WORKFLOW_TRACING_MODULES, WORKFLOWS_PATH } from '../../workers/worker';

// Histories recorded from real runs (scripts/record-histories.sh) are replayed against today's
// workflow code: a change that would break running promotions fails here.

const HISTORIES = path.join(__dirname, 'histories');

function load() {
  return fs
    .readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES, f), 'utf8')));
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
      return { workflowId: f.replace(/\.json$/, ''), type, history };
    });
}

beforeAll(() => {
  installRuntime('ERROR'); // the negative test's determinism errors are expected
});

describe('replay of recorded histories', () => {
  it('replays every recorded history (promotion, layer, environment, rollback, drill, seedRun, ladder, teardown) without a determinism error', async () => {
    const histories = load();
    expect(histories.length).toBeGreaterThanOrEqual(28);
    // Every workflow type is covered: promotion, layer, environment, rollback, drill, a many-seeds
    // layer's seed run, a stored ladder and a teardown.
    expect(new Set(histories.map((h) => h.type))).toEqual(
      new Set(['promotion', 'layer', 'environment', 'rollback', 'drill', 'seedRun', 'ladder', 'teardown']),
    );
    // Histories recorded since the sealed engine: approvals on the layers, verified leases, pinned ladders.
    const patches = (h: (typeof histories)[number]) =>
      (h.history.events ?? []).flatMap((e) => {
        const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
        return data ? [JSON.parse(Buffer.from(data).toString('utf8')).id as string] : [];
      });
    const recorded = new Set(histories.flatMap(patches));
    for (const p of [
      'sealed-decisions',
      'verified-lease',
      'server-side-ladder',
      'approval-notices',
      'version-events-at-release',
      'lease-answer-in-request',
      'generation-2026-12',
    ])
      expect(recorded).toContain(p);
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('replays every recorded history with the tracing interceptors in the bundle (a worker with tracing on), exporting nothing', async () => {
    const histories = load();
    const bundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: WORKFLOW_TRACING_MODULES,
      logger: new DefaultLogger('ERROR'),
    });
    const exported = new InMemorySpanExporter();
    const sink = makeWorkflowExporter(new SimpleSpanProcessor(exported), new Resource({ 'service.name': 'replay' }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle, sinks: { exporter: sink } },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    // Spans of a replay are not exported again (the sink does not run during replay).
    expect(exported.getFinishedSpans()).toEqual([]);
  });

  it('catches a non-deterministic change (a layer that sleeps before provisioning)', async () => {
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'changed-workflows.ts'),
      logger: new DefaultLogger('ERROR'),
    });
    const layerHistories = load().filter((h) => h.type === 'layer');
    expect(layerHistories.length).toBeGreaterThanOrEqual(5);
    let failures = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle },
      layerHistories.map(({ workflowId, history }) => ({ workflowId, history })),
    )) {
      if (result.error) failures++;
    }
    expect(failures).toBe(layerHistories.length);
  });
});
