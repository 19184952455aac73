import type { Client } from '@temporalio/client';
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { layerRange, parseLadder } from '../../src/config/ladder';
import type { PromotionStatus } from '../../src/domain/status';
import { breakLease } from '../../src/temporal/environments';
import {
  abort,
  approve,
  getStatus,
  listPromotions,
  RefusedError,
  reject,
  startPromotion,
  waitForResult,
} from '../../src/temporal/promotions';
import { promotionTimings } from '../../src/temporal/timings';
import { layerWorkflowId } from '../../src/domain/promotion';
import { artifactsOf, type TestWorker, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate, testLadder } from '../helpers/ladders';

const suite = workerSuite('promotion');
let client: Client;
let taskQueue: string;
let worker: TestWorker;

beforeAll(() => {
  ({ client, taskQueue, worker } = suite);
});

const waitFor = (id: string, pred: (s: PromotionStatus) => boolean, timeoutMs?: number) =>
  waitForStatus(client, id, pred, timeoutMs);

const awaiting = (layer: string) => (s: PromotionStatus) =>
  s.layers.find((l) => l.name === layer)?.phase === 'awaiting-approval';

async function healthVersion(url: string): Promise<string> {
  const res = await request(`${url}/health`);
  return ((await res.body.json()) as { version: string }).version;
}

describe('promotion through the ladder (real dev server, real local provider)', () => {
  it('promotes fraud-v2 through every layer once the approvers approve', async () => {
    const ladder = testLadder();
    const candidate = await exampleCandidate('fraud-v2');
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });

    await waitFor(id, awaiting('traffic'));
    // strata list knows it waits for people (its layer says so; visibility may lag a moment).
    const listed = async (phase: 'awaiting-approval' | 'running') =>
      (await listPromotions(client, { phase })).map((p) => p.id);
    for (let i = 0; i < 40 && !(await listed('awaiting-approval')).includes(id); i++)
      await new Promise((r) => setTimeout(r, 250));
    expect(await listed('awaiting-approval')).toContain(id);
    expect(await listed('running')).not.toContain(id);
    expect((await listPromotions(client)).find((p) => p.id === id)?.phase).toBe('awaiting-approval');
    // A small limit reads the promotions a page of that size at a time (here one by one, past
    // the ones that do not wait) and asks only that page's layers.
    const first = await listPromotions(client, { phase: 'awaiting-approval', limit: 1 });
    expect(first.map((p) => p.phase)).toEqual(['awaiting-approval']);
    expect((await listPromotions(client, { limit: 2 })).length).toBeLessThanOrEqual(2);
    const traffic = await approve(client, id, { layer: 'traffic', actor: 'alice', reason: 'SLOs fine' });
    expect(traffic).toMatchObject({ quorumReached: true, count: 1, required: 1 });
    await waitFor(id, awaiting('mirror'));
    await approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'ok' });
    expect((await getStatus(client, id)).state).toBe('awaiting-approval');
    await approve(client, id, { layer: 'mirror', actor: 'carol', reason: 'ok' });

    const result = await waitForResult(client, id);
    expect(result.state).toBe('promoted');
    expect(result.layers.map((l) => [l.name, l.phase, l.running])).toEqual([
      ['sandbox', 'promoted', '2.0.0'],
      ['integration', 'promoted', '2.0.0'],
      ['traffic', 'promoted', '2.0.0'],
      ['mirror', 'promoted', '2.0.0'],
    ]);
    const sandboxGates = result.layers[0].gates;
    expect(sandboxGates.map((g) => g.name)).toEqual(['schema', 'consistency', 'quality', 'latency']);
    expect(sandboxGates.every((g) => g.passed)).toBe(true);
    expect(sandboxGates.find((g) => g.name === 'quality')!.value).toBeGreaterThan(0.85);

    const status = await getStatus(client, id);
    expect(status).toMatchObject({
      id,
      initiator: 'dana',
      state: 'promoted',
      candidate: { name: 'fraud-scoring', version: '2.0.0' },
    });
    expect(status.candidate.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(status.layers[3].approval).toEqual({ required: 2, allowed: ['alice', 'bob', 'carol'] });
    expect(status.layers[3].approvals.map((a) => a.actor)).toEqual(['alice', 'carol']);

    // The environment really serves the promoted version.
    const env = await worker.provider.describe('mirror');
    expect(await healthVersion(env!.url!)).toBe('2.0.0');

    const trail = await auditTrail(client, id);
    const actions = trail.map((e) => e.action);
    expect(actions[0]).toBe('promotion.started');
    expect(actions.at(-1)).toBe('promotion.completed');
    for (const a of [
      'layer.provisioned',
      'layer.seeded',
      'layer.deployed',
      'gate.passed',
      'approval.granted',
      'layer.promoted',
    ]) {
      expect(actions).toContain(a);
    }
    expect(trail.filter((e) => e.action === 'layer.promoted').map((e) => e.layer)).toEqual([
      'sandbox',
      'integration',
      'traffic',
      'mirror',
    ]);
    expect(trail.find((e) => e.action === 'approval.granted' && e.layer === 'traffic')).toMatchObject({
      actor: 'alice',
      detail: expect.stringContaining('SLOs fine'),
    });
  });

  it('fails fraud-v3 on the quality gate of integration and rolls back to the earlier version', async () => {
    const ladder = testLadder();
    const v1 = await exampleCandidate('fraud-v1');
    const first = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'sandbox', 'integration'),
      candidate: v1,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    expect((await waitForResult(client, first)).state).toBe('promoted');

    const v3 = await exampleCandidate('fraud-v3');
    const id = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'sandbox', 'integration'),
      candidate: v3,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/^layer integration: gate quality failed: measured 0\.\d+ auc, threshold 0\.78/);
    const [sandbox, integration] = result.layers;
    expect(sandbox).toMatchObject({ phase: 'promoted', running: '3.0.0' });
    expect(integration).toMatchObject({ phase: 'rolled-back', running: '1.0.0' });
    const quality = integration.gates.find((g) => g.name === 'quality')!;
    expect(quality.passed).toBe(false);
    expect(quality.value).toBeLessThan(0.78);

    // Really rolled back: the environment's process answers as 1.0.0.
    const env = await worker.provider.describe('integration');
    expect(env!.running).toBe('1.0.0');
    expect(await healthVersion(env!.url!)).toBe('1.0.0');

    const actions = (await auditTrail(client, id)).map((e) => `${e.action}:${e.layer ?? '-'}`);
    expect(actions).toContain('gate.failed:integration');
    expect(actions).toContain('layer.rolled-back:integration');
    expect(actions.at(-1)).toBe('promotion.failed:-');
  });

  it('refuses the initiator, outsiders, early and duplicate approvals, and records every attempt', async () => {
    const ladder = testLadder();
    const candidate = await exampleCandidate('fraud-v2');
    const layers = layerRange(ladder, 'mirror', 'mirror');
    const id = await startPromotion(client, {
      ladder,
      layers,
      candidate,
      initiator: ' Dana ',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });

    // Not awaiting approval yet: refused (the layer is still being provisioned or tested).
    await expect(approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'too early' })).rejects.toThrow(
      /not awaiting approval/,
    );
    await waitFor(id, awaiting('mirror'));

    await expect(approve(client, id, { layer: 'mirror', actor: 'DANA', reason: 'mine' })).rejects.toThrow(
      /dana started this promotion and may not approve it/,
    );
    await expect(approve(client, id, { layer: 'mirror', actor: 'mallory', reason: 'x' })).rejects.toThrow(
      /not an approver of layer mirror/,
    );
    await expect(approve(client, id, { layer: 'nope', actor: 'alice', reason: 'x' })).rejects.toThrow(
      /has no layer "nope"/,
    );
    const firstVote = await approve(client, id, { layer: 'mirror', actor: ' Alice ', reason: 'good' });
    expect(firstVote).toMatchObject({ count: 1, required: 2, quorumReached: false });
    await expect(approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'again' })).rejects.toThrow(
      /counts once/,
    );
    expect((await getStatus(client, id)).state).toBe('awaiting-approval');
    const second = await approve(client, id, { layer: 'mirror', actor: 'bob', reason: 'good' });
    expect(second).toMatchObject({ count: 2, quorumReached: true });
    await expect(approve(client, id, { layer: 'mirror', actor: 'carol', reason: 'late' })).rejects.toThrow(
      RefusedError,
    );

    expect((await waitForResult(client, id)).state).toBe('promoted');
    const trail = await auditTrail(client, id);
    const refused = trail.filter((e) => e.action === 'approval.refused');
    expect(refused.map((e) => e.actor)).toEqual(['alice', 'dana', 'mallory', 'alice', 'alice', 'carol']);
    expect(refused[1].detail).toContain('may not approve');
    expect(trail.filter((e) => e.action === 'approval.granted').map((e) => e.actor)).toEqual(['alice', 'bob']);
  });

  it('ends the promotion on one reject and rolls the layer back', async () => {
    const ladder = testLadder();
    const candidate = await exampleCandidate('fraud-v1');
    const id = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'traffic', 'traffic'),
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    await waitFor(id, awaiting('traffic'));
    await reject(client, id, { layer: 'traffic', actor: 'bob', reason: 'p99 regressed' });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('failed');
    expect(result.reason).toBe('layer traffic: rejected by bob: p99 regressed');
    expect(result.layers[0].phase).toBe('rolled-back');
    expect((await auditTrail(client, id)).map((e) => e.action)).toEqual(
      expect.arrayContaining(['approval.rejected', 'layer.rolled-back']),
    );
  });

  it('expires an approval that does not come in time', async () => {
    const ladder = testLadder({ expiry: '2s' });
    const candidate = await exampleCandidate('fraud-v1');
    const id = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'traffic', 'traffic'),
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/approval expired: 1 approval\(s\) needed within 2s/);
    expect(result.layers[0].phase).toBe('rolled-back');
  });

  it('aborts a promotion awaiting approval, rolls back, and refuses a second abort', async () => {
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
    await waitFor(id, awaiting('traffic'));
    await abort(client, id, { actor: 'erin', reason: 'incident in progress' });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('aborted');
    expect(result.reason).toBe('layer traffic: aborted by erin: incident in progress');
    expect(result.layers.map((l) => l.phase)).toEqual(['rolled-back', 'pending']);
    await expect(abort(client, id, { actor: 'erin', reason: 'again' })).rejects.toThrow(RefusedError);
    const trail = await auditTrail(client, id);
    expect(trail.find((e) => e.action === 'abort.requested')).toMatchObject({
      actor: 'erin',
      detail: 'incident in progress',
    });
    expect(trail.at(-1)!.action).toBe('promotion.aborted');
  });
  it('reads the status of a terminated promotion from history: the phases reached and the approvals given', async () => {
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
    await waitFor(id, awaiting('traffic'));
    await approve(client, id, { layer: 'traffic', actor: 'bob', reason: 'SLOs fine' });
    await waitFor(id, awaiting('mirror'));
    await approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'looks good' });
    const before = await getStatus(client, id);
    await client.workflow.getHandle(id).terminate('operator gave up waiting');
    // The terminated layer never releases the mirror's lease: take it back for the tests after this one.
    await breakLease(client, taskQueue, 'mirror', { actor: 'erin', reason: 'test cleanup' });

    const status = await getStatus(client, id);
    const [traffic, mirror] = status.layers;
    expect(traffic).toMatchObject({ name: 'traffic', phase: 'promoted', running: '2.0.0' });
    expect(traffic.approvals).toEqual([
      { actor: 'bob', decision: 'approve', reason: 'SLOs fine', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    expect(traffic.gates.map((g) => [g.name, g.passed])).toEqual([['quality', true]]);
    expect(mirror).toMatchObject({ name: 'mirror', phase: 'awaiting-approval', running: '2.0.0' });
    expect(mirror.approval).toEqual({ required: 2, allowed: ['alice', 'bob', 'carol'] });
    expect(mirror.approvals).toEqual([
      { actor: 'alice', decision: 'approve', reason: 'looks good', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    expect(mirror.gates).toEqual(before.layers[1].gates);
    // What the running promotion said, history says after the end (but for the state and its reason).
    expect(status.layers).toEqual(before.layers);
    expect(status.state).toBe('failed');
    expect(status.reason).toBe('workflow ended terminated: operator gave up waiting');
  });

  it("dates every audit entry, even a layer's whose history is gone (layers close first, so retention removes them first)", async () => {
    const ladder = testLadder();
    const candidate = await exampleCandidate('fraud-v2');
    const layers = layerRange(ladder, 'integration', 'integration');
    const id = await startPromotion(client, {
      ladder,
      layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    expect((await waitForResult(client, id)).state).toBe('promoted');
    const layerId = `${id}.integration`;
    await client.workflowService.deleteWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: layerId },
    });
    // Deletion is asynchronous: wait until the layer's history is gone (the test's timeout bounds the wait).
    const deleted = () =>
      client.workflow
        .getHandle(layerId)
        .describe()
        .then(
          () => false,
          () => true,
        );
    while (!(await deleted())) await new Promise((r) => setTimeout(r, 200));

    const trail = await auditTrail(client, id);
    expect(trail.map((e) => e.action)).toEqual([
      'promotion.started',
      'ladder.pinned',
      'layer.history-missing',
      'promotion.completed',
    ]);
    for (const e of trail) expect(e.at, e.action).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const missing = trail[2];
    expect(missing).toMatchObject({ layer: 'integration', detail: `no history for ${layerId}` });
    // Dated when the promotion started the layer.
    expect(missing.at >= trail[0].at && missing.at <= trail[3].at).toBe(true);
  });

  it('aborts in the middle of a gate: the activity is cancelled and the layer rolls back at once', async () => {
    const ladder = parseLadder(
      `
name: abort-ladder
layers:
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates: [ { type: latency, threshold: 5000, options: { requests: 100000, concurrency: 2 } } ]
    approval: auto
`,
      'abort-ladder.yaml',
    );
    const candidate = await exampleCandidate('fraud-v1');
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    await waitFor(id, (s) => s.layers[0].phase === 'testing');
    await new Promise((r) => setTimeout(r, 500)); // the gate is sending requests
    const asked = Date.now();
    await abort(client, id, { actor: 'erin', reason: 'stop the load' });
    const result = await waitForResult(client, id);
    const took = Date.now() - asked;
    expect(result.state).toBe('aborted');
    expect(result.layers[0].phase).toBe('rolled-back');
    expect(result.layers[0].gates).toEqual([]); // the cancelled gate reported nothing
    expect(took).toBeLessThan(15_000); // 100 000 requests would take far longer
    const trail = (await auditTrail(client, id)).map((e) => e.action);
    expect(trail).toEqual(
      expect.arrayContaining(['abort.requested', 'layer.aborted', 'layer.rolled-back', 'promotion.aborted']),
    );
  });

  it('runs adjacent parallel gates side by side, reports them in the ladder order, and times each from the history', async () => {
    const ladder = parseLadder(
      `
name: parallel-ladder
layers:
  - name: side-by-side
    seed: { rows: 800, seed: 4 }
    gates:
      - { type: schema, parallel: true }
      - { type: consistency, parallel: true }
      - { type: quality, threshold: 0.6, parallel: true }
      - { type: latency, threshold: 5000, options: { requests: 20 } }
    approval: auto
`,
      'parallel-ladder.yaml',
    );
    const candidate = await exampleCandidate('fraud-v2');
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('promoted');
    expect(result.layers[0].gates.map((g) => g.name)).toEqual(['schema', 'consistency', 'quality', 'latency']);

    const status = await getStatus(client, id);
    const events = (await client.workflow.getHandle(layerWorkflowId(id, 'side-by-side')).fetchHistory()).events ?? [];
    // The three parallel gates were all scheduled before any of them ended; the latency gate after all three.
    const gateOrder: string[] = [];
    const names = new Map<string, string>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s?.activityType?.name === 'runGate') {
        const input = JSON.parse(Buffer.from(s.input?.payloads?.[0]?.data ?? []).toString('utf8')) as {
          gate: { name: string };
        };
        names.set(String(e.eventId), input.gate.name);
        gateOrder.push(`start ${input.gate.name}`);
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (done && names.has(String(done.scheduledEventId)))
        gateOrder.push(`end ${names.get(String(done.scheduledEventId))}`);
    }
    expect(gateOrder.slice(0, 3).sort()).toEqual(['start consistency', 'start quality', 'start schema']);
    expect(gateOrder.slice(3, 6).every((step) => step.startsWith('end '))).toBe(true);
    expect(gateOrder.slice(6)).toEqual(['start latency', 'end latency']);

    const [timings] = await promotionTimings(client, status);
    expect(timings.gates.map((g) => g.name).sort()).toEqual(['consistency', 'latency', 'quality', 'schema']);
    expect(timings.phases.testing).toBeGreaterThan(0);
  });
});
