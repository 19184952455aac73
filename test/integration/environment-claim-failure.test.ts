// An environment workflow whose leaseClaim activity fails for good (every retry timed out on an
// overloaded machine: the 60-minute soak of 2026-12-03 lost a lane that way) keeps running and asks
// the holder again later (patched lease-claim-survives); before, the failure ended the environment
// workflow, and with it the version history and every lease of the layer.
//
// The environment workflow is Strata's own, on the run's real dev server; the worker's leaseClaim
// is the test's: it fails (non-retryable, so at once rather than after ten timed-out attempts) the
// first time it is asked about the holder, then answers that the holder wants the promotion lease.

import { ApplicationFailure } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { environmentWorkflowId, type LeaseClaim } from '../../src/domain/environment';
import { payloadCodecs } from '../../src/temporal/codec';
import { environmentQuery, leaseRequestSignal } from '../../workflows/environment-messages';
import { bundleWorkflows } from '../../workers/worker';
import { connectTestClient, startCustomWorker, uniqueTaskQueue } from '../helpers/harness';

let suite: Awaited<ReturnType<typeof connectTestClient>>;
let worker: Awaited<ReturnType<typeof startCustomWorker>>;
const taskQueue = uniqueTaskQueue('claim-failure');
const asked: string[] = [];

beforeAll(async () => {
  suite = await connectTestClient();
  worker = await startCustomWorker(async (connection) =>
    Worker.create({
      connection,
      namespace: inject('namespace'),
      taskQueue,
      workflowBundle: await bundleWorkflows({ tracing: false }),
      dataConverter: { payloadCodecs: payloadCodecs() },
      activities: {
        async leaseClaim({ holder }: { holder: string }): Promise<LeaseClaim> {
          asked.push(holder);
          if (asked.filter((h) => h === holder).length === 1)
            throw ApplicationFailure.nonRetryable(`no answer from ${holder} (test)`, 'ClaimUnanswered');
          return { wants: 'promotion', failFast: false, events: [] };
        },
      },
    }),
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.connection.close();
});

it('keeps the environment running when a lease claim fails for good, and grants the lease once the holder answers', async () => {
  const id = environmentWorkflowId(taskQueue, 'traffic');
  const handle = await suite.client.workflow.start('environment', {
    workflowId: id,
    taskQueue,
    args: [{ layer: 'traffic', claimRetryMs: 2_000 }],
  });
  const holder = `${taskQueue}-promotion.traffic`;
  await handle.signal(leaseRequestSignal, { holder, kind: 'promotion', failFast: false });

  // The first claim failed; the environment is still running and asks again about 2 s later.
  const deadline = Date.now() + 60_000;
  let state = await handle.query(environmentQuery);
  while (state.lease?.holder !== holder && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    state = await handle.query(environmentQuery);
  }
  expect(asked.filter((h) => h === holder)).toHaveLength(2);
  expect(state.lease).toMatchObject({ holder, kind: 'promotion' });
  expect((await handle.describe()).status.name).toBe('RUNNING');

  // The history shows the failed claim, then the one that answered: the workflow did not fail.
  const events = (await handle.fetchHistory()).events ?? [];
  expect(events.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(1);
  expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(1);
  expect(events.some((e) => e.workflowExecutionFailedEventAttributes)).toBe(false);
  await handle.terminate('test done');
}, 120_000);
