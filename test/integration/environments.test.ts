import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { layerRange, parseLadder } from '../../src/config/ladder';
import {
  currentVersion,
  emptyEnvironment,
  environmentWorkflowId,
  type EnvironmentState,
  versionAt,
} from '../../src/domain/environment';
import type { PromotionStatus } from '../../src/domain/status';
import { breakLease, getEnvironment, hold, releaseHold, teardownLayer } from '../../src/temporal/environments';
import { approve, getStatus, RefusedError, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { artifactsOf, ROOT, temporalAddress, type TestWorker, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate, testLadder, testLadderYaml } from '../helpers/ladders';
import { leaseReleaseSignal, leaseRequestSignal, versionEventSignal } from '../../workflows/environment-messages';
import { auditTrail } from '../../src/audit/trail';
import { runStrata } from '../helpers/cli';

const suite = workerSuite('env');
let client: Client;
let home: string;
let taskQueue: string;
let worker: TestWorker;

beforeAll(() => {
  ({ client, home, taskQueue, worker } = suite);
});

const waitFor = (id: string, pred: (s: PromotionStatus) => boolean, timeoutMs?: number) =>
  waitForStatus(client, id, pred, timeoutMs);
const phaseOf = (layer: string, phase: string) => (s: PromotionStatus) =>
  s.layers.find((l) => l.name === layer)?.phase === phase;

/**
 * The traffic environment once `settled` holds, or after 30 s on a busy machine (the assertions
 * that follow then say what is wrong). The environment acts on lease messages once it has asked
 * the workflow they name (verified-lease), a moment after the message.
 */
async function trafficOnceSettled(settled: (e: EnvironmentState) => boolean): Promise<EnvironmentState> {
  let env = await getEnvironment(client, taskQueue, 'traffic');
  // Up to a minute: on a loaded machine the environment's lease check runs behind the rollback.
  for (let i = 0; i < 240 && !settled(env); i++) {
    await new Promise((r) => setTimeout(r, 250));
    env = await getEnvironment(client, taskQueue, 'traffic');
  }
  return env;
}

describe('environments as entities (real dev server)', () => {
  it('makes a second promotion into a leased layer wait, shows the holder, then proceeds', async () => {
    const ladder = testLadder();
    const traffic = layerRange(ladder, 'traffic', 'traffic');
    const a = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitFor(a, phaseOf('traffic', 'awaiting-approval'));
    const b = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });

    const waiting = await waitFor(b, phaseOf('traffic', 'waiting-for-lease'));
    expect(waiting.layers[0].lease).toMatchObject({ holder: `${a}.traffic`, kind: 'promotion' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await getStatus(client, b)).layers[0].phase).toBe('waiting-for-lease'); // still waiting, not deploying
    // The environment queues b once it has asked b's layer what it wants (verified-lease).
    const env = await trafficOnceSettled((e) => e.waiting.length > 0);
    expect(env.lease?.holder).toBe(`${a}.traffic`);
    expect(env.waiting.map((w) => w.holder)).toEqual([`${b}.traffic`]);

    await approve(client, a, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(client, a)).state).toBe('promoted');
    await waitFor(b, phaseOf('traffic', 'awaiting-approval'));
    const beforeApproval = new Date().toISOString();
    await approve(client, b, { layer: 'traffic', actor: 'bob', reason: 'ok' });
    const rb = await waitForResult(client, b);
    expect(rb.state).toBe('promoted');
    expect(rb.layers[0].running).toBe('2.0.0');

    // The environment takes the lease back once it has asked b's layer (verified-lease).
    const after = await trafficOnceSettled((e) => !e.lease && currentVersion(e.history)?.version === '2.0.0');
    expect(after.lease).toBeNull();
    expect(currentVersion(after.history)?.version).toBe('2.0.0');
    // The layer sends no signal per version event (version-events-at-release): the environment
    // reads them from its claim at the release, each with the time the layer recorded it.
    const ofB = after.history.filter((e) => e.by === b);
    expect(ofB.map((e) => e.event)).toEqual(['deployed', 'promoted']);
    expect(ofB[0].at < beforeApproval).toBe(true);
    expect(ofB[1].at > beforeApproval).toBe(true);
    const layerEvents = (await client.workflow.getHandle(`${b}.traffic`).fetchHistory()).events ?? [];
    const signalled = layerEvents.map(
      (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ?? undefined,
    );
    expect(signalled.filter((n) => n)).toEqual(['leaseRelease']);
    // a had the lease at once: its request activity brought the answer (lease-answer-in-request),
    // no grant signal came and it asked nothing more. b waited in the queue: its grant came as a
    // signal, which it checked with the environment (leaseStanding).
    const leaseTraffic = async (id: string) => {
      const events = (await client.workflow.getHandle(`${id}.traffic`).fetchHistory()).events ?? [];
      return {
        received: events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []),
        activities: events
          .flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [])
          .filter((n) => n === 'requestLease' || n === 'leaseStanding'),
      };
    };
    expect(await leaseTraffic(a)).toEqual({ received: [], activities: ['requestLease'] });
    const ofBTraffic = await leaseTraffic(b);
    expect(ofBTraffic.received).toEqual(['leaseGranted']);
    // b's request is answered "waiting" and the grant signal then checked (leaseStanding); on a busy
    // machine (CI once) b's request activity can still be waiting for its answer when a's release
    // grants b, and then the request brings the grant itself. Either way one request, no more.
    expect([['requestLease', 'leaseStanding'], ['requestLease']]).toContainEqual(ofBTraffic.activities);
    // What ran in traffic between the two promotions: 1.0.0.
    const v1Promoted = after.history.find((e) => e.event === 'promoted' && e.version === '1.0.0')!;
    expect(versionAt(after.history, v1Promoted.at)?.version).toBe('1.0.0');
    expect(versionAt(after.history, '2000-01-01T00:00:00.000Z')).toBeNull();

    // The same answer through the CLI.
    const run = promisify(execFile);
    const { stdout } = await run(
      path.join(ROOT, 'bin/strata'),
      ['env', 'at', 'traffic', '--time', v1Promoted.at, '--json'],
      {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_NAMESPACE: inject('namespace'),
          STRATA_TASK_QUEUE: taskQueue,
          STRATA_HOME: home,
        },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ layer: 'traffic', version: '1.0.0', by: a });
  });

  it('fails fast when the ladder says so', async () => {
    const ladder = parseLadder(
      testLadderYaml().replace('approval: { required: 1', 'lease: fail-fast\n    approval: { required: 1'),
      'ff.yaml',
    );
    const traffic = layerRange(ladder, 'traffic', 'traffic');
    expect(traffic[0].lease).toBe('fail-fast');
    const a = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitFor(a, phaseOf('traffic', 'awaiting-approval'));
    const b = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const rb = await waitForResult(client, b);
    expect(rb.state).toBe('failed');
    expect(rb.reason).toContain(
      `no lease: layer traffic is leased by promotion ${a}.traffic and the ladder says fail-fast`,
    );
    await approve(client, a, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(client, a)).state).toBe('promoted');
  });

  it('refuses promotions into a layer on hold until it is released', async () => {
    const ladder = testLadder();
    const integration = layerRange(ladder, 'integration', 'integration');
    const first = await startPromotion(client, {
      ladder,
      layers: integration,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    expect((await waitForResult(client, first)).state).toBe('promoted');

    await hold(client, taskQueue, 'integration', { actor: 'Erin', reason: 'investigating drift' });
    await expect(hold(client, taskQueue, 'integration', { actor: 'erin', reason: 'again' })).rejects.toThrow(
      RefusedError,
    );
    const held = await startPromotion(client, {
      ladder,
      layers: integration,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const rh = await waitForResult(client, held);
    expect(rh.state).toBe('failed');
    expect(rh.reason).toContain('layer integration is on hold by erin: investigating drift');
    expect((await getEnvironment(client, taskQueue, 'integration')).history.at(-1)?.version).toBe('1.0.0'); // untouched

    await releaseHold(client, taskQueue, 'integration', { actor: 'erin', reason: 'fixed' });
    const again = await startPromotion(client, {
      ladder,
      layers: integration,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    expect((await waitForResult(client, again)).state).toBe('promoted');
  });
  it('rolls a layer back by hand to its last known-good version, checks its gates and records it', async () => {
    // After the earlier tests traffic ran 1.0.0, then 2.0.0, then 1.0.0 again (fail-fast test), all promoted.
    const ladderFile = path.join(home, 'ladder.yaml');
    fs.writeFileSync(ladderFile, testLadderYaml());
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: inject('namespace'),
      STRATA_TASK_QUEUE: taskQueue,
      STRATA_HOME: home,
      STRATA_LOG_LEVEL: 'warn',
    };
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(path.join(ROOT, 'bin/strata'), args, { env }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });

    const never = await cli([
      'rollback',
      '--ladder',
      ladderFile,
      '--layer',
      'traffic',
      '--to',
      '9.9.9',
      '--as',
      'erin',
      '--reason',
      'x',
    ]);
    expect(never.code).toBe(2);
    expect(never.stderr).toContain('version 9.9.9 was never deployed in traffic (deployed there: 1.0.0, 2.0.0)');

    const done = await cli([
      'rollback',
      '--ladder',
      ladderFile,
      '--layer',
      'traffic',
      '--as',
      'Erin',
      '--reason',
      'p99 regression in prod-like load',
      '--json',
    ]);
    expect(done.stderr).toMatch(/^strata: rolling traffic back \(rollback\.traffic\.[0-9a-f]{6}\)\n$/);
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout);
    expect(result).toMatchObject({ layer: 'traffic', state: 'rolled-back', from: '1.0.0', to: '2.0.0' });
    expect(result.gates.every((g: { passed: boolean }) => g.passed)).toBe(true);

    const described = await worker.provider.describe('traffic');
    expect(described!.running).toBe('2.0.0');
    expect(described!.knownGood!.version).toBe('2.0.0');
    // The environment records the rollback's events once it has asked the rollback (verified-lease):
    // both of them (rolled-back, then promoted), which may take two asks.
    const history = (await trafficOnceSettled((e) => e.history.filter((x) => x.by === result.id).length >= 2)).history;
    expect(history.at(-2)).toMatchObject({
      event: 'rolled-back',
      version: '2.0.0',
      by: result.id,
      reason: 'erin: p99 regression in prod-like load',
    });
    expect(currentVersion(history)?.version).toBe('2.0.0');
  });
  it('releases the lease of a holder whose workflow was terminated on its own, audited; list no longer shows it running', async () => {
    const ladder = testLadder();
    const traffic = layerRange(ladder, 'traffic', 'traffic');
    const a = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitFor(a, phaseOf('traffic', 'awaiting-approval'));
    // The holder is terminated: its layer never releases the lease itself.
    await client.workflow.getHandle(a).terminate('lost');
    // The promotion's layer closes with it (parent close policy), a moment later.
    for (let i = 0; i < 40; i++) {
      if ((await client.workflow.getHandle(`${a}.traffic`).describe()).status.name !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await getEnvironment(client, taskQueue, 'traffic')).lease?.holder).toBe(`${a}.traffic`);
    const b = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    // No `strata env unlock`: b's request makes the environment ask the holder, which is closed.
    await waitFor(b, phaseOf('traffic', 'awaiting-approval'));
    const env = await getEnvironment(client, taskQueue, 'traffic');
    expect(env.lease?.holder).toBe(`${b}.traffic`);
    expect(env.operations).toContainEqual(
      expect.objectContaining({ action: 'release-holder-closed', actor: 'strata', holder: `${a}.traffic` }),
    );
    // What a had recorded before it was terminated is kept.
    expect(env.history.filter((e) => e.by === a).map((e) => e.event)).toContain('deployed');

    // A late message naming the closed holder (a worker that took the run over after a timed-out
    // workflow task delivered one so) costs no second leaseClaim: its answer was final
    // (lease-claim-final; before, the extra activity was a command replay did not make).
    const envHandle = client.workflow.getHandle(environmentWorkflowId(taskQueue, 'traffic'));
    await envHandle.signal(leaseReleaseSignal, { holder: `${a}.traffic` });
    await envHandle.signal(leaseReleaseSignal, { holder: `${a}.traffic` });
    let after: Array<{ eventType?: unknown; activityType?: string }> = [];
    let processed = false;
    for (let i = 0; i < 40; i++) {
      const events = (await envHandle.fetchHistory()).events ?? [];
      const lastSignal = events
        .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
        .lastIndexOf('leaseRelease');
      after = events.slice(lastSignal + 1).map((e) => ({
        eventType: e.eventType,
        activityType: e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined,
      }));
      // Processed: a workflow task completed after the last of the two signals.
      processed = events.slice(lastSignal + 1).some((e) => e.workflowTaskCompletedEventAttributes);
      if (processed) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(processed).toBe(true);
    expect(after.filter((e) => e.activityType === 'leaseClaim')).toEqual([]);
    expect((await getEnvironment(client, taskQueue, 'traffic')).lease?.holder).toBe(`${b}.traffic`);
    const trail = await auditTrail(client, a);
    expect(trail).toContainEqual(
      expect.objectContaining({
        action: 'lease.released-holder-closed',
        layer: 'traffic',
        actor: 'strata',
        authentication: 'system',
        detail: expect.stringContaining('terminated'),
      }),
    );
    const running = await runStrata(['list', '--phase', 'running', '--limit', '1000', '--json'], { home, taskQueue });
    expect(running.code, running.stderr).toBe(0);
    const ids = (JSON.parse(running.stdout) as Array<{ id: string }>).map((p) => p.id);
    expect(ids).not.toContain(a);
    // b waits for its approval: list says so (its layer's phase), not running.
    expect(ids).not.toContain(b);
    const waiting = await runStrata(['list', '--phase', 'awaiting-approval', '--limit', '1000', '--json'], {
      home,
      taskQueue,
    });
    expect((JSON.parse(waiting.stdout) as Array<{ id: string }>).map((p) => p.id)).toContain(b);
    const all = await runStrata(['list', '--limit', '1000', '--json'], { home, taskQueue });
    expect((JSON.parse(all.stdout) as Array<{ id: string; phase: string }>).find((p) => p.id === a)?.phase).toBe(
      'terminated',
    );
    await approve(client, b, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(client, b)).state).toBe('promoted');
  });

  it('lets an operator take the lease from a holder that is stuck', async () => {
    const ladder = testLadder();
    const traffic = layerRange(ladder, 'traffic', 'traffic');
    const a = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    // a waits for an approval nobody gives: it holds the lease, alive.
    await waitFor(a, phaseOf('traffic', 'awaiting-approval'));
    const b = await startPromotion(client, {
      ladder,
      layers: traffic,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitFor(b, phaseOf('traffic', 'waiting-for-lease'));
    await expect(breakLease(client, taskQueue, 'traffic', { actor: 'erin', reason: '' })).rejects.toThrow(RefusedError);
    const out = await breakLease(client, taskQueue, 'traffic', { actor: 'erin', reason: 'holder stuck' });
    expect(out.broken).toBe(`${a}.traffic`);
    await waitFor(b, phaseOf('traffic', 'awaiting-approval'));
    await client.workflow.getHandle(a).terminate('test done');
    await approve(client, b, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(client, b)).state).toBe('promoted');
  });

  it('tears a layer down under its lease, after the promotion holding it, and records who and why', async () => {
    const ladder = testLadder();
    const a = await startPromotion(client, {
      ladder,
      layers: layerRange(ladder, 'traffic', 'traffic'),
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitFor(a, phaseOf('traffic', 'awaiting-approval'));
    expect(fs.existsSync(path.join(home, 'envs', 'traffic'))).toBe(true);
    await expect(teardownLayer(client, taskQueue, 'traffic', { actor: ' ', reason: 'x' })).rejects.toThrow(
      /a teardown needs --as and --reason/,
    );
    const torn = teardownLayer(client, taskQueue, 'traffic', { actor: 'Erin', reason: 'disk full' });
    // The teardown waits behind the promotion's lease: the environment is still there.
    const env = await trafficOnceSettled((e) => e.waiting.length > 0);
    expect(env.lease?.holder).toBe(`${a}.traffic`);
    expect(env.waiting.map((w) => w.kind)).toEqual(['teardown']);
    expect(fs.existsSync(path.join(home, 'envs', 'traffic'))).toBe(true);

    await approve(client, a, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(client, a)).state).toBe('promoted');
    expect(await torn).toEqual({ layer: 'traffic', was: '2.0.0' });
    expect(fs.existsSync(path.join(home, 'envs', 'traffic'))).toBe(false);
    // The environment takes the lease back once it has asked the teardown (verified-lease).
    const after = await trafficOnceSettled((e) => !e.lease);
    expect(after.lease).toBeNull();
    expect(after.tornDownAt).not.toBeNull();
    expect(after.history.at(-1)).toMatchObject({ event: 'torn-down', version: null, reason: 'erin: disk full' });
    expect(after.history.at(-1)!.by).toMatch(/\.teardown\.traffic\./);
  });

  it('continues as new before its history grows large, keeping its state; forged lease requests change nothing', async () => {
    const id = `${taskQueue}.env.cantest`;
    const history = Array.from({ length: 300 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      event: 'deployed' as const,
      version: `1.0.${i}`,
      digest: null,
      by: 'earlier-run',
    }));
    await client.workflow.start('environment', {
      workflowId: id,
      taskQueue,
      args: [{ layer: 'cantest', maxHistoryEvents: 100, state: { ...emptyEnvironment('cantest'), history } }],
    });
    const handle = client.workflow.getHandle(id);
    const firstRun = (await handle.describe()).runId;
    await hold(client, taskQueue, 'cantest', { actor: 'erin', reason: 'keep across runs' });
    // Each forged request names a holder that does not exist: the environment asks it (an activity,
    // several history events) and, with no answer, gives it nothing. 60 of them pass the 100-event mark.
    for (let i = 0; i < 60; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          handle.signal(leaseRequestSignal, { holder: `forged-${i + j}`, kind: 'rollback', failFast: false }),
        ),
      );
    }
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        handle.signal(versionEventSignal, { event: 'promoted', version: `9.9.${j}`, digest: null, by: 'forger' }),
      ),
    );
    const deadline = Date.now() + 60_000;
    let described = await handle.describe();
    while (described.runId === firstRun && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      described = await handle.describe();
    }
    expect(described.runId).not.toBe(firstRun);
    const env = await getEnvironment(client, taskQueue, 'cantest');
    expect(env.history).toHaveLength(300); // none lost across the new runs, none forged
    expect(new Set(env.history.map((e) => e.version)).size).toBe(300);
    expect(env.history.some((e) => e.version?.startsWith('9.9.'))).toBe(false);
    expect(env.hold).toMatchObject({ by: 'erin', reason: 'keep across runs' });
    expect(env.lease).toBeNull();
    expect(env.waiting).toEqual([]);
    await handle.terminate('test done');
  });

  it('rotates credentials on schedule and tears an unused ephemeral environment down after its TTL', async () => {
    const ladder = parseLadder(
      `
name: ephemeral-ladder
layers:
  - name: preview
    seed: { rows: 300, seed: 9 }
    gates: [ { type: schema } ]
    approval: auto
    ttl: 5s
    credentialRotation: 1s
`,
      'ephemeral.yaml',
    );
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    expect((await waitForResult(client, id)).state).toBe('promoted');
    const credentials = path.join(home, 'envs/preview/credentials.json');
    const read = () => JSON.parse(fs.readFileSync(credentials, 'utf8')) as { secret: string; rotatedAt: string };
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(credentials) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const first = read();
    expect(fs.statSync(credentials).mode & 0o777).toBe(0o600);
    // Rotated every second: wait for the next rotation rather than for a fixed time.
    const rotation = Date.now() + 15_000;
    while (read().secret === first.secret && Date.now() < rotation) await new Promise((r) => setTimeout(r, 100));
    const second = read();
    expect(second.secret).not.toBe(first.secret);
    expect(second.rotatedAt > first.rotatedAt).toBe(true);
    const pid = (await worker.provider.describe('preview'))!.pid!;

    // Unused for 5 s: the environment workflow's durable timer tears it down.
    const gone = Date.now() + 20_000;
    while (fs.existsSync(path.join(home, 'envs/preview')) && Date.now() < gone)
      await new Promise((r) => setTimeout(r, 250));
    expect(fs.existsSync(path.join(home, 'envs/preview'))).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(); // its candidate process is stopped
    const env = await getEnvironment(client, taskQueue, 'preview');
    expect(env.history.at(-1)).toMatchObject({ event: 'torn-down', version: null, by: 'ttl', reason: 'unused for 5s' });
    expect(env.tornDownAt).not.toBeNull();
  });
});
