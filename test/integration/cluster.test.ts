import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { LocalProvider } from '../../src/providers/local';
import { freePort } from '../../src/tools/ports';
import { ensureSigningKey, readerToken } from '../../src/temporal/auth';
import { type ClusterInfo, clusterDir, clusterDown, clusterStatus, clusterUp } from '../../src/temporal/cluster';
import { parsePostgresUrl } from '../../src/temporal/cluster-config';
import { schemaVersions } from '../../src/temporal/cluster-schema';
import { authMetadata } from '../../src/temporal/connection';
import { getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { TemporalHttpError, TemporalHttpReader } from '../../src/temporal/http-api';
import { readStatus } from '../../src/temporal/status';
import { artifactsOf, ROOT, teardownHome, tempHome } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { type PrivatePostgres, privatePostgres } from '../helpers/postgres';

// The Temporal server itself (v1.29.1 from the Go module proxy) on a private PostgreSQL, with the
// JWT authorizer, started by `strata cluster up` for this file alone; workers are real
// `strata worker` processes with the worker's token. Slow: a cluster, PostgreSQL and many workers.

const NAMESPACE = 'strata';
let pg: PrivatePostgres;
let home: string;
let info: ClusterInfo;
let workerToken: string;
let client: Client;
let connection: Connection;
const taskQueue = `cluster-${process.pid}`;
const workers: ChildProcess[] = [];

const quiet = () => undefined;
const up = (extra: { postgresUrl?: string } = {}) =>
  clusterUp({ home, namespace: NAMESPACE, retentionDays: 30, progress: quiet, ...extra });

interface WorkerProcess {
  child: ChildProcess;
  stderr: () => string;
}

function startWorker(extraArgs: string[] = []): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'src/cli/main.ts'),
      'worker',
      '--max-concurrent-activities',
      '4',
      '--max-cached-workflows',
      '50',
      ...extraArgs,
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: info.address,
        TEMPORAL_NAMESPACE: NAMESPACE,
        STRATA_TEMPORAL_TOKEN_FILE: info.workerTokenFile,
        STRATA_HOME: home,
        STRATA_TASK_QUEUE: taskQueue,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  workers.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('worker running')) resolve({ child, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before running:\n${err}`)));
  });
}

function oneLayerLadder(name: string, requests: number) {
  return parseLadder(
    `
name: ${name}
layers:
  - name: ${name}
    seed: { rows: 300, seed: 1 }
    gates:
      - { type: schema }
      - { type: latency, threshold: 5000, options: { requests: ${requests}, concurrency: 2 } }
    approval: auto
`,
    `${name}.yaml`,
  );
}

async function startOne(name: string, requests = 1500): Promise<{ id: string; layer: string }> {
  const ladder = oneLayerLadder(name, requests);
  const candidate = await exampleCandidate('fraud-v2');
  const id = await startPromotion(client, {
    ladder,
    layers: ladder.layers,
    candidate,
    initiator: 'dana',
    taskQueue,
    artifacts: artifactsOf(home),
  });
  return { id, layer: name };
}

/** The worker identity (`pid@host`) running the layer's gate right now, if a gate is running. */
async function gateRunningOn(p: { id: string; layer: string }): Promise<string | undefined> {
  return (await runningGate(p))?.worker;
}

/**
 * The worker running the layer's gate now, and which of its gates that is (1: the quick schema
 * gate, 2: the latency gate of seconds), counted from the gates its history has scheduled.
 */
async function runningGate(p: { id: string; layer: string }): Promise<{ worker: string; gate: number } | undefined> {
  try {
    const handle = client.workflow.getHandle(`${p.id}.${p.layer}`);
    const d = await handle.describe();
    const running = (d.raw.pendingActivities ?? []).find(
      (a) =>
        a.activityType?.name === 'runGate' &&
        a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    );
    if (!running?.lastWorkerIdentity) return undefined;
    const events = (await handle.fetchHistory()).events ?? [];
    const gate = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runGate').length;
    return { worker: running.lastWorkerIdentity, gate };
  } catch {
    return undefined;
  }
}

/** Counts, from the layer's history, how often each side-effecting activity completed. */
async function completedActivities(p: { id: string; layer: string }): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(`${p.id}.${p.layer}`).fetchHistory();
  const events = history.events ?? [];
  const typeOf = new Map<number, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) typeOf.set(Number(e.eventId), name);
  }
  const counts: Record<string, number> = {};
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const name = typeOf.get(Number(done.scheduledEventId)) ?? '?';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

async function maxGateAttempt(p: { id: string; layer: string }): Promise<number> {
  const history = await client.workflow.getHandle(`${p.id}.${p.layer}`).fetchHistory();
  return Math.max(0, ...(history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0));
}

/** Each environment provisioned, seeded and deployed exactly once: the provider's records and the histories agree. */
async function expectEachOnce(promotions: { id: string; layer: string }[]): Promise<void> {
  const provider = new LocalProvider(home);
  for (const p of promotions) {
    const events = provider.events(p.layer).map((e) => e.event);
    expect(
      events.filter((e) => e === 'provisioned'),
      `${p.layer} provisioned`,
    ).toHaveLength(1);
    expect(
      events.filter((e) => e === 'seeded'),
      `${p.layer} seeded`,
    ).toHaveLength(1);
    expect(
      events.filter((e) => e === 'process-started'),
      `${p.layer} deployed`,
    ).toHaveLength(1);
    const counts = await completedActivities(p);
    expect(counts.provisionEnvironment, `${p.layer} provisionEnvironment`).toBe(1);
    expect(counts.populateEnvironment, `${p.layer} populateEnvironment`).toBe(1);
    expect(counts.deployCandidate, `${p.layer} deployCandidate`).toBe(1);
  }
}

async function waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function connectAs(token: string | undefined): Promise<Connection> {
  return Connection.connect({ address: info.address, ...authMetadata(token) });
}

/** The server's denial: gRPC PERMISSION_DENIED ("Request unauthorized."), anywhere in the cause chain. */
async function expectDenied(what: string, attempt: () => Promise<unknown>): Promise<void> {
  let caught: unknown;
  try {
    await attempt();
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what} was allowed`).toBeDefined();
  const chain: unknown[] = [];
  for (let e = caught; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const denied = chain.some(
    (e) => (e as { code?: number }).code === 7 || /unauthorized|permission denied/i.test(String((e as Error).message)),
  );
  expect(denied, `${what}: ${String((caught as Error)?.message)}`).toBe(true);
}

beforeAll(async () => {
  pg = await privatePostgres({ database: 'temporal' });
  await pg.start();
  home = tempHome('cluster');
  const port = await freePort();
  info = await clusterUp({
    home,
    postgresUrl: pg.url,
    port,
    namespace: NAMESPACE,
    retentionDays: 30,
    progress: quiet,
  });
  workerToken = fs.readFileSync(info.workerTokenFile, 'utf8').trim();
  connection = await connectAs(workerToken);
  client = new Client({ connection, namespace: NAMESPACE });
}, 600_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await connection?.close();
  if (home) {
    await clusterDown(home).catch(() => undefined);
    await teardownHome(home);
  }
  await pg?.remove();
}, 120_000);

describe('strata cluster', () => {
  it('keeps its key, config and tokens private, and a second up reuses the server, the schema and the namespace', async () => {
    const dir = clusterDir(home);
    for (const file of ['signing-key.pem', 'cluster.json', 'config/strata.yaml', 'tokens/worker.token']) {
      expect((fs.statSync(path.join(dir, file)).mode & 0o777).toString(8), file).toBe('600');
    }
    const again = await up();
    expect(again).toMatchObject({ address: info.address, reused: true, serverPid: info.serverPid });

    const target = parsePostgresUrl(pg.url);
    const versions = await schemaVersions(target);
    expect(versions.temporal).toMatch(/^1\.\d+$/);
    expect(versions.temporal_visibility).toMatch(/^1\.\d+$/);

    // A new server process on the same database: schemas as they were, namespace kept.
    expect((await clusterDown(home)).stopped).toContain(info.serverPid);
    expect((await clusterStatus(home)).state).toBe('stopped');
    info = await up();
    expect(info.reused).toBe(false);
    expect(await schemaVersions(target)).toEqual(versions);
    const ns = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 86_400);
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    expect(Object.keys(attrs.customAttributes ?? {})).toEqual(
      expect.arrayContaining(['StrataCandidate', 'StrataVersion', 'StrataLayer', 'StrataPhase']),
    );

    // The CLI reports it.
    const status = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'cluster', 'status', '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, STRATA_HOME: home },
      },
    );
    let out = '';
    status.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => status.on('exit', r));
    expect(JSON.parse(out)).toMatchObject({ state: 'running', address: info.address, historyShards: 4 });
    expect(out).not.toContain('strata:strata@'); // no password in the status
  });

  it('lets no client without a token, and no reader, signal, update, start or terminate', async () => {
    const target = await client.workflow.start('promotion', {
      workflowId: `auth-target-${process.pid}`,
      taskQueue: `nobody-polls-${process.pid}`,
      args: [{}],
    });
    const reader = readerToken(ensureSigningKey(clusterDir(home)), 'erin', NAMESPACE);
    for (const [who, token] of [
      ['no token', undefined],
      ['a read-only token', reader],
    ] as const) {
      const conn = await connectAs(token);
      try {
        const c = new Client({ connection: conn, namespace: NAMESPACE });
        const handle = c.workflow.getHandle(target.workflowId);
        await expectDenied(`${who}: signal`, () => handle.signal('layerDecision', { kind: 'aborted' }));
        await expectDenied(`${who}: update`, () => handle.executeUpdate('approve', { args: [{}] }));
        await expectDenied(`${who}: start`, () =>
          c.workflow.start('promotion', { workflowId: `intruder-${who}`, taskQueue, args: [{}] }),
        );
        await expectDenied(`${who}: terminate`, () => handle.terminate('not yours'));
        if (token) {
          // The reader's token is valid: it may read.
          expect((await handle.describe()).status.name).toBe('RUNNING');
        } else {
          await expectDenied(`${who}: describe`, () => handle.describe());
        }
      } finally {
        await conn.close();
      }
    }
    // The worker's service identity may write.
    await target.terminate('test done');
    expect((await target.describe()).status.name).toBe('TERMINATED');
  });
});

describe('many workers on the cluster', () => {
  it('completes 6 promotions in flight on 2 workers when one is SIGKILLed mid-gate, each environment made once', async () => {
    const a = await startWorker();
    await startWorker();
    expect(a.stderr()).toMatch(/"maxConcurrentActivities":4/);
    // Gates of 4,000 requests (seconds each): a gate seen running on A is still running when A is
    // killed a moment later. With 1,500 the gate seen could finish between the look and the kill
    // on a loaded CI machine, and was then never retried (attempt 1: CI failed twice on that).
    const promotions = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => startOne(`many-${i}`, 4000)));

    // Kill worker A while it is running a gate. The six are looked at together, so what is seen
    // is as fresh as one describe call.
    const identityA = `${a.child.pid}@`;
    let caught: { id: string; layer: string } | undefined;
    await waitUntil(
      'a gate running on worker A',
      async () => {
        // The latency gate (the layer's second), not the schema gate before it: that one takes
        // milliseconds, and one seen running finished before the kill and was never retried.
        const on = await Promise.all(promotions.map((p) => runningGate(p)));
        caught = promotions.find((_, i) => on[i]?.worker.startsWith(identityA) && on[i]!.gate === 2);
        return caught !== undefined;
      },
      180_000,
    );
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    expect(a.child.signalCode).toBe('SIGKILL');

    const results = await Promise.all(promotions.map((p) => waitForResult(client, p.id)));
    // With each failure's reason, so that a failed run says why.
    expect(results.map((r) => (r.state === 'promoted' ? r.state : `${r.state}: ${r.reason}`))).toEqual(
      Array(6).fill('promoted'),
    );
    await expectEachOnce(promotions);
    // The interrupted gate really was retried elsewhere.
    expect(await maxGateAttempt(caught!)).toBeGreaterThanOrEqual(2);
  }, 420_000);

  it('drains a worker on SIGTERM: idle ones exit 0 at once; a running gate finishes once, then the worker exits 0', async () => {
    // Idle workers stop promptly.
    for (const w of workers.filter((x) => x.exitCode === null && x.signalCode === null)) {
      const exited = new Promise<number | null>((r) => w.once('exit', (c) => r(c)));
      w.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    const draining = await startWorker(['--drain-timeout', '90s']);
    const p = await startOne('drain-1', 2500);
    await waitUntil('the gate started on the worker', async () =>
      Boolean((await gateRunningOn(p))?.startsWith(`${draining.child.pid}@`)),
    );
    const exited = new Promise<number | null>((r) => draining.child.once('exit', (c) => r(c)));
    draining.child.kill('SIGTERM');
    await startWorker(); // takes the layer's next steps once the drained worker stops polling
    expect(await exited).toBe(0);
    expect(draining.stderr()).toContain('worker draining');
    const result = await waitForResult(client, p.id);
    expect(result.state).toBe('promoted');
    expect(await maxGateAttempt(p)).toBe(1); // finished during the drain, never retried
    await expectEachOnce([p]);
  }, 300_000);

  it('completes promotions when the Temporal server is stopped for 20 s mid-promotion', async () => {
    if (workers.filter((w) => w.exitCode === null && w.signalCode === null).length < 2) await startWorker();
    const promotions = await Promise.all([1, 2].map((i) => startOne(`outage-${i}`, 3000)));
    await waitUntil('a gate running', async () => (await gateRunningOn(promotions[0])) !== undefined, 180_000);
    const { stopped } = await clusterDown(home);
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    expect((await clusterStatus(home)).state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 20_000));
    info = await up();
    expect(info.reused).toBe(false);
    const results = await Promise.all(promotions.map((p) => waitForResult(client, p.id)));
    expect(results.map((r) => r.state)).toEqual(['promoted', 'promoted']);
    await expectEachOnce(promotions);
  }, 420_000);

  it('completes promotions when the PostgreSQL server is restarted mid-promotion', async () => {
    if (workers.filter((w) => w.exitCode === null && w.signalCode === null).length < 2) await startWorker();
    const promotions = await Promise.all([1, 2].map((i) => startOne(`pg-restart-${i}`, 3000)));
    await waitUntil('a gate running', async () => (await gateRunningOn(promotions[0])) !== undefined, 180_000);
    await pg.restart();
    const results = await Promise.all(promotions.map((p) => waitForResult(client, p.id)));
    expect(results.map((r) => r.state)).toEqual(['promoted', 'promoted']);
    await expectEachOnce(promotions);
    expect((await clusterStatus(home)).state).toBe('running');
    // Status still answers through the same connection after the database came back.
    expect((await getStatus(client, promotions[0].id)).state).toBe('promoted');
    // And through the cluster's HTTP API (STRATA_TEMPORAL_HTTP, as `cluster up` prints it), with
    // the same token; without one the API refuses, and the CLI would read through gRPC.
    const token = fs.readFileSync(info.workerTokenFile, 'utf8').trim();
    const overHttp = new TemporalHttpReader({ base: info.httpApi, namespace: NAMESPACE, token });
    expect(await overHttp.answers()).toBe(true);
    expect(await readStatus(overHttp, promotions[0].id)).toEqual(await getStatus(client, promotions[0].id));
    const anonymous = new TemporalHttpReader({ base: info.httpApi, namespace: NAMESPACE });
    expect(await anonymous.answers()).toBe(false);
    await expect(readStatus(anonymous, promotions[0].id)).rejects.toBeInstanceOf(TemporalHttpError);
  }, 420_000);
});
