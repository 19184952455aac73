// A lease request the environment never received (lost with a continued-as-new run, or a signal
// that did not arrive: the hour-long soak of 2026-12-03 had two lanes wait forever on "held by
// nobody") is made again: since lease-request-renewed a holder that hears nothing asks the
// environment where it stands, and asks for the lease again when the environment does not know of
// it. Before, it waited for a grant that would never come.
//
// Strata's environment workflow and its lease code (workflows/lease.ts), on the run's real dev
// server, with Strata's real lease activities; the test's requestLease drops the first request
// (returns without signalling the environment), as a lost request would be.

import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createLeaseActivities } from '../../activities/lease';
import type { ActivityDeps } from '../../activities/support';
import { payloadCodecs } from '../../src/temporal/codec';
import { connectTestClient, startCustomWorker, uniqueTaskQueue } from '../helpers/harness';

let suite: Awaited<ReturnType<typeof connectTestClient>>;
let worker: Awaited<ReturnType<typeof startCustomWorker>>;
const taskQueue = uniqueTaskQueue('lease-renewal');
let requests = 0;

beforeAll(async () => {
  suite = await connectTestClient();
  const real = createLeaseActivities({ client: suite.client } as ActivityDeps);
  worker = await startCustomWorker(async (connection) =>
    Worker.create({
      connection,
      namespace: inject('namespace'),
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.join(__dirname, '../fixtures/workflows/lease-holder.ts'),
        logger: new DefaultLogger('WARN'),
      }),
      dataConverter: { payloadCodecs: payloadCodecs() },
      activities: {
        ...real,
        async requestLease(input: Parameters<typeof real.requestLease>[0]) {
          requests++;
          if (requests === 1) return { environmentId: 'lost' }; // the first request never arrives
          return real.requestLease(input);
        },
      },
    }),
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await suite?.connection.close();
});

it('asks again when the environment does not know of a waiting holder, and gets the lease', async () => {
  const result = await suite.client.workflow.execute('leaseHolder', {
    workflowId: `${taskQueue}-holder`,
    taskQueue,
    args: [{ layer: 'traffic', recheckMs: 2_000 }],
    workflowExecutionTimeout: '2 minutes',
  });
  expect(result).toEqual({ granted: true });
  expect(requests).toBe(2);
  // The holder's history: a recheck timer fired, the environment was asked where it stood, then
  // the lease was requested again.
  const events = (await suite.client.workflow.getHandle(`${taskQueue}-holder`).fetchHistory()).events ?? [];
  const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  expect(scheduled.slice(0, 3)).toEqual(['requestLease', 'leaseStanding', 'requestLease']);
  expect(events.some((e) => e.timerFiredEventAttributes)).toBe(true);
}, 180_000);
