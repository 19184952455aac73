// A promotion's history must stay well under Temporal's limits (50k events, 50 MB) however many
// gates a layer has: one layer of 200 gates stays under 10k events, and under 1 MiB since a gate's
// activity carries its own gate and not the layer's 200 (2.3 MB before). Real dev server and worker;
// the no-op provider and trivial gates of the engine bench, so only the engine's events count.

import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { benchLadderYaml, bundle, createEngineWorker } from '../../bench/engine/worker';
import { loadCandidate } from '../../src/config/candidate';
import { parseLadder } from '../../src/config/ladder';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import {
  artifactsOf,
  connectTestClient,
  EXAMPLES,
  tempHome,
  startCustomWorker,
  uniqueTaskQueue,
} from '../helpers/harness';

let suite: Awaited<ReturnType<typeof connectTestClient>>;
let worker: Awaited<ReturnType<typeof startCustomWorker>>;
const taskQueue = uniqueTaskQueue('engine-history');
// Promote seals the candidate here; the engine bench's no-op provider never reads it.
const artifacts = artifactsOf(tempHome('engine-history'));

beforeAll(async () => {
  suite = await connectTestClient();
  const strataBundle = await bundle('strata');
  worker = await startCustomWorker((connection) =>
    createEngineWorker({
      kind: 'strata',
      connection,
      client: suite.client,
      namespace: inject('namespace'),
      taskQueue,
      bundle: strataBundle,
    }),
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.connection.close();
});

it('keeps a promotion with 200 gates under 10k events and 1 MiB', async () => {
  const prefix = `wide${process.pid}`;
  const ladder = parseLadder(benchLadderYaml(prefix, { layers: 1, gates: 200 }), 'wide.yaml');
  const id = await startPromotion(suite.client, {
    id: `${prefix}-promotion`,
    ladder,
    layers: ladder.layers,
    candidate: await loadCandidate(path.join(EXAMPLES, 'candidates', 'fraud-v1')),
    initiator: 'test',
    taskQueue,
    artifacts: artifacts,
  });
  const result = await waitForResult(suite.client, id);
  expect(result.state).toBe('promoted');
  expect(result.layers[0].gates).toHaveLength(200);

  let events = 0;
  let bytes = 0;
  const top = await suite.client.workflow.getHandle(id).fetchHistory();
  const children = (top.events ?? [])
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
    .filter((x): x is string => Boolean(x));
  expect(children).toHaveLength(1);
  for (const history of [
    top,
    ...(await Promise.all(children.map((c) => suite.client.workflow.getHandle(c).fetchHistory()))),
  ]) {
    events += history.events?.length ?? 0;
    bytes += temporal.api.history.v1.History.encode(history).finish().length;
  }
  expect(events).toBeLessThan(10_000);
  expect(bytes).toBeLessThan(1024 * 1024);
}, 600_000);
