import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { LocalProvider } from '../../src/providers/local';
import { ApprovalRegistry } from '../../src/data/approvals';
import { getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import {
  artifactsOf,
  connectTestClient,
  ROOT,
  teardownHome,
  tempHome,
  temporalAddress,
  uniqueTaskQueue,
} from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

// The worker runs as a real separate process, is killed with SIGKILL in the middle of a layer,
// and a new one picks the promotion up: Temporal retries the interrupted activity and the local
// provider's idempotency keeps every environment and process single.

let client: Client;
let connection: Connection;
let home: string;
let taskQueue: string;
const workers: ChildProcess[] = [];

function startWorkerProcess(extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  // node --import tsx: one process (the tsx launcher would put the worker in a child of its own).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: inject('namespace'),
      STRATA_HOME: home,
      STRATA_TASK_QUEUE: taskQueue,
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('worker running')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before running:\n${err}`)));
  });
}

async function latencyGateRunning(workflowId: string): Promise<boolean> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).some(
    (a) =>
      a.activityType?.name === 'runGate' &&
      a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  );
}

beforeAll(async () => {
  ({ client, connection } = await connectTestClient());
  home = tempHome('crash');
  taskQueue = uniqueTaskQueue('crash');
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await connection?.close();
  if (home) await teardownHome(home);
});

describe('a worker killed with SIGKILL mid-promotion', () => {
  it('is replaced by a new worker that completes the promotion without provisioning or deploying twice', async () => {
    // The integration layer's latency gate sends enough requests to be caught in the middle.
    const ladder = parseLadder(
      `
name: crash-ladder
layers:
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates: [ { type: schema }, { type: quality, threshold: 0.6 } ]
    approval: auto
  - name: integration
    seed: { rows: 500, seed: 2 }
    gates:
      - { type: schema }
      - { type: latency, threshold: 5000, options: { requests: 6000, concurrency: 2 } }
    approval: auto
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates: [ { type: quality, threshold: 0.78 } ]
    approval: auto
`,
      'crash-ladder.yaml',
    );
    const candidate = await exampleCandidate('fraud-v2');
    const first = await startWorkerProcess();
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });

    // Wait until the integration layer is running its gates, then kill the worker outright.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const s = await getStatus(client, id);
      // The schema gate is done and the latency gate's activity has started on this worker.
      if (
        s.layers[1].phase === 'testing' &&
        s.layers[1].gates.length === 1 &&
        (await latencyGateRunning(`${id}.integration`))
      )
        break;
      expect(s.state).not.toBe('failed');
      if (Date.now() > deadline) throw new Error(`integration never reached testing: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(first.signalCode).toBe('SIGKILL');

    await startWorkerProcess();
    const result = await waitForResult(client, id);
    expect(result.state).toBe('promoted');
    expect(result.layers.map((l) => l.phase)).toEqual(['promoted', 'promoted', 'promoted']);

    const provider = new LocalProvider(home);
    for (const layer of ['sandbox', 'integration', 'traffic']) {
      const events = provider.events(layer).map((e) => e.event);
      expect(
        events.filter((e) => e === 'provisioned'),
        `${layer} provisioned`,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e === 'seeded'),
        `${layer} seeded`,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e === 'process-started'),
        `${layer} deployed`,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e === 'process-stopped'),
        `${layer} stopped`,
      ).toHaveLength(0);
    }
    // The activity really was interrupted: the gate's successful run was a retry.
    const latency = result.layers[1].gates.find((g) => g.type === 'latency')!;
    expect(latency.passed).toBe(true);
    const history = await client.workflow.getHandle(`${id}.integration`).fetchHistory();
    const attempts = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)
      .filter((a) => a > 0);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
  });

  it('keeps the seeds that finished and retries only the interrupted one (many seeds as child workflows)', async () => {
    const examples = path.join(ROOT, 'examples');
    await new ApprovalRegistry(home).approve(path.join(examples, 'data/transactions.profile.json'), 'carol', 'test');
    const seeds = [31, 32, 33, 34];
    const ladder = parseLadder(
      `
name: crash-seeds
data:
  sources: [ { name: profile, classification: synthetic, file: ${examples}/data/transactions.profile.json } ]
layers:
  - name: fidelity
    data: { source: profile, rows: 500, seed: 1, policy: ${examples}/data/masking/synthetic.yaml }
    seeds: [${seeds.join(', ')}]
    gates: [ { type: seeds, threshold: 0.5, options: { maxStd: 0.2 } } ]
    approval: auto
`,
      'crash-seeds.yaml',
    );
    // Labels from the profile's copula; 80,000 rows a seed keep each activity busy for a second or
    // more, so the activity seen in flight is still in flight when the worker is killed (with
    // 40,000 rows and the populate step off the event loop, it could finish in between on a quiet
    // machine).
    ladder.layers[0].data!.rows = 80_000;
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    // The first worker runs one activity at a time, so the seeds finish one after another: with
    // all four in parallel they finished within one poll of each other on a loaded CI machine and
    // no seed was ever seen in flight beside a finished one. The replacement runs them as usual.
    const first = await startWorkerProcess({ STRATA_MAX_CONCURRENT_ACTIVITIES: '1' });
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const childId = (seed: number) => `${id}.fidelity.seed-${seed}`;
    const state = async (seed: number) => {
      try {
        const d = await client.workflow.getHandle(childId(seed)).describe();
        const running = (d.raw.pendingActivities ?? []).some(
          (a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        );
        return d.status.name === 'COMPLETED' ? 'done' : running ? 'busy' : 'waiting';
      } catch {
        return 'absent';
      }
    };

    // Kill the worker once some seeds are done and another is in the middle of an activity.
    let done: number[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const states = await Promise.all(seeds.map(state));
      done = seeds.filter((_, i) => states[i] === 'done');
      if (done.length >= 1 && states.includes('busy')) break;
      if (Date.now() > deadline) throw new Error(`never caught a seed in flight: ${states.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await startWorkerProcess();
    const result = await waitForResult(client, id);
    expect(result.state).toBe('promoted');
    const gate = result.layers[0].gates[0];
    expect(gate.checks?.map((c) => c.name)).toEqual(seeds.map((s) => `seed ${s}`));

    let retried = 0;
    for (const seed of seeds) {
      const history = await client.workflow.getHandle(childId(seed)).fetchHistory();
      const events = history.events ?? [];
      // One child run per seed, each activity completed once.
      expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(2);
      const maxAttempt = Math.max(...events.map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0));
      if (done.includes(seed)) expect(maxAttempt, `seed ${seed} finished before the kill`).toBe(1);
      if (maxAttempt > 1) retried++;
    }
    expect(retried).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
