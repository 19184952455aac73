// `strata status` of a running promotion, read from the workflow histories (issue 15): on the run's
// real dev server with a real worker, a promotion parks at a manual layer whose approval reminds and
// escalates, after an automatic layer whose two gates run side by side. At each step the status
// read from the histories equals the one its workflows answer to their queries, and it is still
// answered, the same, with the worker stopped (a query then has nobody to answer it).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { isTerminal, isTerminalPhase, type PromotionStatus } from '../../src/domain/status';
import { approve, getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { layerStatusQuery, statusQuery } from '../../workflows/messages';
import { bundleWorkflows } from '../../workers/worker';
import { artifactsOf, startTestWorker, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

const suite = workerSuite('status-history');

/** The status as the workflows answer it: the promotion's query, then each running layer's. */
async function queried(id: string): Promise<PromotionStatus> {
  const { client } = suite;
  const status = await client.workflow.getHandle(id).query(statusQuery);
  for (const [i, layer] of status.layers.entries()) {
    if (!layer.workflowId || isTerminalPhase(layer.phase)) continue;
    const live = await client.workflow.getHandle(layer.workflowId).query(layerStatusQuery);
    status.layers[i] = { ...live, workflowId: layer.workflowId };
  }
  if (!isTerminal(status.state)) {
    status.state = status.layers.some((l) => l.phase === 'awaiting-approval') ? 'awaiting-approval' : 'running';
  }
  return status;
}

const LADDER = `
name: status-history
layers:
  - name: sandbox
    seed: { rows: 300, seed: 5 }
    gates:
      - { type: schema, parallel: true }
      - { type: quality, threshold: 0.5, parallel: true }
    approval: auto
  - name: staging
    seed: { rows: 300, seed: 6 }
    gates:
      - { type: quality, threshold: 0.5 }
    approval: { required: 2, approvers: [alice, bob], expiry: 1h, remind: [1s, 2s], escalate: { after: 3s, to: [carol] } }
`;

describe('status of a running promotion, from its histories (real dev server, real worker)', () => {
  it('equals what the workflows answer while it waits, escalates and takes an approval, and needs no worker', async () => {
    const { client, home, taskQueue } = suite;
    const ladder = parseLadder(LADDER, 'status-history.yaml');
    const id = await startPromotion(client, {
      id: `status-history-${path.basename(home).slice(-6)}`,
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });

    const staging = (s: PromotionStatus) => s.layers.find((l) => l.name === 'staging')!;
    const waiting = await waitForStatus(client, id, (s) => staging(s).phase === 'awaiting-approval', 120_000);
    expect(waiting.state).toBe('awaiting-approval');
    // The parallel gates in the ladder's order, whichever finished first.
    expect(waiting.layers[0].gates.map((g) => g.name)).toEqual(['schema', 'quality']);

    // Two reminders, then the escalation widens the approvers.
    const escalated = await waitForStatus(client, id, (s) => staging(s).approval.escalated === true, 60_000);
    expect(staging(escalated).approval).toEqual({
      required: 2,
      allowed: ['alice', 'bob', 'carol'],
      escalated: true,
      reminders: 2,
    });
    expect(escalated).toEqual(await queried(id));

    await approve(client, id, { layer: 'staging', actor: 'alice', reason: 'numbers look right' });
    const once = await getStatus(client, id);
    expect(staging(once).approvals).toEqual([
      expect.objectContaining({ actor: 'alice', decision: 'approve', reason: 'numbers look right' }),
    ]);
    expect(staging(once).gates.map((g) => g.name)).toEqual(['quality']);
    expect(staging(once).running).toBe('2.0.0');
    expect(once).toEqual(await queried(id));

    // With no worker, nothing can answer a query; the status is read all the same.
    await suite.worker.stop();
    const started = Date.now();
    expect(await getStatus(client, id)).toEqual(once);
    expect(Date.now() - started).toBeLessThan(10_000);

    // The suite stops this one when it ends.
    suite.worker = await startTestWorker({ home, taskQueue, bundle: await bundleWorkflows() });
    await approve(client, id, { layer: 'staging', actor: 'bob', reason: 'agreed' });
    expect((await waitForResult(client, id)).state).toBe('promoted');
    const ended = await getStatus(client, id);
    expect(ended.state).toBe('promoted');
    expect(staging(ended).approvals.map((a) => a.actor)).toEqual(['alice', 'bob']);
  });
});
