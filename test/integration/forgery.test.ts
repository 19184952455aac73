// A raw Temporal client — anyone who can reach the frontend — sends every signal and every Update
// the workflows define, with hostile payloads, while a promotion awaits approval. Nothing that
// decides an outcome may move: no layer promotes without a quorum of policy-allowed approvers, no
// gate or phase changes, and each forged attempt either changes nothing or is refused on the record.

import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { layerRange } from '../../src/config/ladder';
import { environmentWorkflowId } from '../../src/domain/environment';
import { layerWorkflowId } from '../../src/domain/promotion';
import type { PromotionStatus } from '../../src/domain/status';
import { getEnvironment } from '../../src/temporal/environments';
import { abort, approve, getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import {
  breakLeaseUpdate,
  holdUpdate,
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  releaseHoldUpdate,
  versionEventSignal,
} from '../../workflows/environment-messages';
import {
  abortUpdate,
  approveUpdate,
  layerDecisionSignal,
  layerProgressSignal,
  rejectUpdate,
} from '../../workflows/messages';
import { artifactsOf, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate, testLadder } from '../helpers/ladders';

const suite = workerSuite('forgery');
let client: Client;
let taskQueue: string;

beforeAll(() => {
  ({ client, taskQueue } = suite);
});

const awaiting = (layer: string) => (s: PromotionStatus) =>
  s.layers.find((l) => l.name === layer)?.phase === 'awaiting-approval';

/** What must not move under forgery: each layer's phase, gates, approvals and what runs there. */
const decisive = (s: PromotionStatus) => ({
  state: s.state,
  layers: s.layers.map((l) => ({
    name: l.name,
    phase: l.phase,
    running: l.running,
    gates: l.gates.map((g) => [g.name, g.passed, g.value]),
    approvals: l.approvals.map((a) => [a.actor, a.decision]),
  })),
});

/** Sends; a refusal (an Update failing, a signal to a closed workflow) is fine — nothing may change. */
async function attempt(what: string, send: () => Promise<unknown>): Promise<string> {
  try {
    await send();
    return `${what}: accepted by the server`;
  } catch (err) {
    return `${what}: refused (${(err as Error).message.split('\n')[0]})`;
  }
}

const FORGED_GATE = {
  name: 'quality',
  type: 'quality',
  passed: true,
  value: 1,
  threshold: 0,
  detail: 'forged',
};

describe('a raw Temporal client cannot forge a decision (real dev server)', () => {
  it('sends every signal and Update the workflows define: no layer promotes without its quorum, no gate or phase moves, each attempt is on the record', async () => {
    const ladder = testLadder();
    const candidate = await exampleCandidate('fraud-v2');
    const id = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'traffic', 'mirror'),
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    await waitForStatus(client, id, awaiting('traffic'));
    const trafficId = layerWorkflowId(id, 'traffic');
    const envId = environmentWorkflowId(taskQueue, 'traffic');
    const before = await getStatus(client, id);
    const envBefore = await getEnvironment(client, taskQueue, 'traffic');
    expect(envBefore.lease?.holder).toBe(trafficId);

    const promotion = client.workflow.getHandle(id);
    const traffic = client.workflow.getHandle(trafficId);
    const env = client.workflow.getHandle(envId);
    const outcomes = [
      // Signals the workflows define, each to every workflow that has (or had) a handler for it.
      await attempt('progress: traffic promoted', () =>
        promotion.signal(layerProgressSignal, { layer: 'traffic', phase: 'promoted', gate: FORGED_GATE }),
      ),
      await attempt('progress: mirror awaiting', () =>
        promotion.signal(layerProgressSignal, { layer: 'mirror', phase: 'awaiting-approval' }),
      ),
      await attempt('decision to the layer', () =>
        traffic.signal(layerDecisionSignal, { kind: 'approved', approvers: [] }),
      ),
      await attempt('decision to the promotion', () =>
        promotion.signal(layerDecisionSignal, { kind: 'approved', approvers: ['alice'] }),
      ),
      await attempt('lease denied to the holder', () =>
        traffic.signal(leaseDeniedSignal, { layer: 'traffic', reason: 'forged' }),
      ),
      await attempt('lease granted to the holder', () => traffic.signal(leaseGrantedSignal, { layer: 'traffic' })),
      await attempt('release of the holder', () => env.signal(leaseReleaseSignal, { holder: trafficId })),
      await attempt('request by a stranger', () =>
        env.signal(leaseRequestSignal, { holder: 'mallory-workflow', kind: 'promotion', failFast: false }),
      ),
      await attempt('a forged promotion event', () =>
        env.signal(versionEventSignal, { event: 'promoted', version: '6.6.6', digest: 'f'.repeat(64), by: 'mallory' }),
      ),
      // Updates with hostile payloads.
      await attempt('approve at the promotion', () =>
        promotion.executeUpdate(approveUpdate, { args: [{ layer: 'traffic', actor: 'alice', reason: 'x' }] }),
      ),
      await attempt('approve by the initiator', () =>
        traffic.executeUpdate(approveUpdate, { args: [{ layer: 'traffic', actor: 'DANA ', reason: 'mine' }] }),
      ),
      await attempt('approve by an outsider', () =>
        traffic.executeUpdate(approveUpdate, { args: [{ layer: 'traffic', actor: 'mallory', reason: 'trust me' }] }),
      ),
      await attempt('approve with no reason', () =>
        traffic.executeUpdate(approveUpdate, { args: [{ layer: 'traffic', actor: 'alice', reason: '  ' }] }),
      ),
      await attempt('approve for another layer', () =>
        traffic.executeUpdate(approveUpdate, { args: [{ layer: 'mirror', actor: 'alice', reason: 'x' }] }),
      ),
      await attempt('approve with a non-object payload', () =>
        traffic.executeUpdate(approveUpdate, { args: ['approved' as never] }),
      ),
      await attempt('reject by an outsider', () =>
        traffic.executeUpdate(rejectUpdate, { args: [{ layer: 'traffic', actor: 'mallory', reason: 'no' }] }),
      ),
      await attempt('abort without an identity', () =>
        promotion.executeUpdate(abortUpdate, { args: [{ actor: '', reason: 'x' }] }),
      ),
      await attempt('break the lease without a reason', () =>
        env.executeUpdate(breakLeaseUpdate, { args: [{ actor: 'mallory', reason: '' }] }),
      ),
      await attempt('hold without an identity', () =>
        env.executeUpdate(holdUpdate, { args: [{ actor: '', reason: 'x' }] }),
      ),
      await attempt('release a hold that is not there', () =>
        env.executeUpdate(releaseHoldUpdate, { args: [{ actor: 'mallory', reason: 'x' }] }),
      ),
    ];
    // Every Update above is refused by the workflow that owns the decision.
    for (const o of outcomes.slice(9)) expect(o).toMatch(/refused/);

    // Let the environment ask the holders the messages named, and the layer check its hints.
    await new Promise((r) => setTimeout(r, 3000));
    const after = await getStatus(client, id);
    expect(decisive(after)).toEqual(decisive(before));
    expect(after.layers[0]).toMatchObject({ phase: 'awaiting-approval', approvals: [] });
    const envAfter = await getEnvironment(client, taskQueue, 'traffic');
    expect(envAfter.lease?.holder).toBe(trafficId);
    expect(envAfter.waiting).toEqual([]);
    // The forged version event recorded nothing of its own: it only made the environment ask its
    // holder, whose claim lists the deploy it made (read at its release otherwise).
    expect(envAfter.history.slice(0, envBefore.history.length)).toEqual(envBefore.history);
    const added = envAfter.history.slice(envBefore.history.length);
    expect(added.map((e) => [e.event, e.by])).toEqual(added.length ? [['deployed', id]] : []);
    expect(JSON.stringify(envAfter.history)).not.toMatch(/mallory|6\.6\.6/);

    // Each forged signal is on the record with who sent it; each refused Update with its reason.
    const trail = await auditTrail(client, id);
    const fromClient = trail.filter((e) => e.action === 'signal.from-client');
    expect(fromClient.map((e) => e.detail.split(' ')[1]).sort()).toEqual(
      ['layerProgress', 'layerProgress', 'layerDecision', 'layerDecision', 'leaseDenied', 'leaseGranted'].sort(),
    );
    for (const e of fromClient) expect(e.authentication).toBe('temporal client (unverified)');
    const refused = trail.filter((e) => e.action === 'approval.refused').map((e) => e.detail);
    expect(refused).toEqual([
      expect.stringContaining('takes its approvals on its own workflow'),
      expect.stringContaining('dana started this promotion and may not approve it'),
      expect.stringContaining('mallory is not an approver of layer traffic'),
      expect.stringContaining('a reason is required'),
      expect.stringContaining(`this is the workflow of layer traffic, not of "mirror"`),
      expect.stringContaining('an approver identity is required'),
      expect.stringContaining('mallory is not an approver of layer traffic'),
    ]);
    expect(trail.filter((e) => e.action === 'abort.refused')).toHaveLength(1);
    for (const e of trail.filter((x) => x.action.startsWith('approval.'))) {
      expect(e.authentication).toBe('local (unauthenticated)');
    }

    // The real approver moves traffic on; the mirror needs two approvers and a forged decision is not one.
    await approve(client, id, { layer: 'traffic', actor: 'bob', reason: 'SLOs fine' });
    await waitForStatus(client, id, awaiting('mirror'));
    const mirror = client.workflow.getHandle(layerWorkflowId(id, 'mirror'));
    await mirror.signal(layerDecisionSignal, { kind: 'approved', approvers: [] });
    await approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'one of two' });
    await new Promise((r) => setTimeout(r, 1500));
    const waiting = await getStatus(client, id);
    expect(waiting.state).toBe('awaiting-approval');
    expect(waiting.layers[1]).toMatchObject({ name: 'mirror', phase: 'awaiting-approval' });
    expect(waiting.layers[1].approvals.map((a) => a.actor)).toEqual(['alice']);

    // A cancellation request from outside aborts (rolls back) — it never promotes.
    await abort(client, id, { actor: 'erin', reason: 'test done' });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('aborted');
    expect(result.layers.map((l) => [l.name, l.phase])).toEqual([
      ['traffic', 'promoted'],
      ['mirror', 'rolled-back'],
    ]);
    expect(result.layers[1].failure).toBe('aborted by erin: test done');
  });
});
