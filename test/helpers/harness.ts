import { payloadCodecs } from '../../src/temporal/codec';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import type { PromotionStatus } from '../../src/domain/status';
import { getStatus } from '../../src/temporal/promotions';
import { tracingClientOptions } from '../../src/temporal/client-tracing';
import { removeSealedTree } from '../../src/artifacts/store';
import { strataPaths } from '../../src/paths';
import { LocalProvider } from '../../src/providers/local';
import { bundleWorkflows, createStrataWorker } from '../../workers/worker';

export const ROOT = path.resolve(__dirname, '../..');
export const EXAMPLES = path.join(ROOT, 'examples');

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function connectTestClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  // As the CLI's client: with tracing on, a promotion's start is the root of its trace.
  const client = new Client({
    connection,
    namespace: inject('namespace'),
    dataConverter: { payloadCodecs: payloadCodecs() },
    ...tracingClientOptions('strata-test'),
  });
  return { client, connection };
}

/** The artifact store of a STRATA_HOME: where promote seals candidates and workers deploy them from. */
export function artifactsOf(home: string): string {
  return strataPaths(home).artifacts;
}

export function tempHome(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
}

/** A unique task queue per test file keeps workers with different homes apart. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A real worker in this process, on its own task queue and STRATA_HOME; stop() shuts it down. */
export async function startTestWorker(opts: {
  home: string;
  taskQueue: string;
  bundle: WorkflowBundle;
  /** Serve /metrics on this port (0: any free port); see worker.metrics.url. */
  metricsPort?: number;
}) {
  const provider = new LocalProvider(opts.home);
  const { worker, connection, metrics } = await createStrataWorker({
    address: temporalAddress(),
    namespace: inject('namespace'),
    taskQueue: opts.taskQueue,
    provider,
    paths: strataPaths(opts.home),
    bundle: opts.bundle,
    ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
  });
  const running = worker.run();
  return {
    provider,
    metrics,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * A worker the test builds itself (its own workflows or activities) on the run's dev server,
 * running until stop(), which shuts it down and closes its connection.
 */
export async function startCustomWorker(create: (connection: NativeConnection) => Promise<Worker>) {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await create(connection);
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Stops every candidate process a test home started (they are detached on purpose). */
export async function teardownHome(home: string): Promise<void> {
  const provider = new LocalProvider(home);
  if (fs.existsSync(provider.envsDir)) {
    for (const layer of fs.readdirSync(provider.envsDir)) {
      if (/^[a-z][a-z0-9-]*$/.test(layer)) await provider.teardown(layer);
    }
  }
  // The artifact store is read-only: its directories must be writable again to be emptied.
  removeSealedTree(artifactsOf(home));
  fs.rmSync(home, { recursive: true, force: true });
}

export type TestWorker = Awaited<ReturnType<typeof startTestWorker>>;

/**
 * One worker per test file: bundles the workflows, connects a client, starts a worker on its own
 * task queue and STRATA_HOME before the file's tests, and tears all of it down after them.
 * The returned object's fields are set once the suite's beforeAll has run.
 */
export function workerSuite(prefix: string) {
  const suite = {} as { client: Client; connection: Connection; home: string; taskQueue: string; worker: TestWorker };
  beforeAll(async () => {
    const bundle = await bundleWorkflows();
    Object.assign(suite, await connectTestClient());
    suite.home = tempHome(prefix);
    suite.taskQueue = uniqueTaskQueue(prefix);
    suite.worker = await startTestWorker({ home: suite.home, taskQueue: suite.taskQueue, bundle });
  });
  afterAll(async () => {
    await suite.worker?.stop();
    await suite.connection?.close();
    if (suite.home) await teardownHome(suite.home);
  });
  return suite;
}

/** Polls a promotion's status until `pred` holds (or fails after `timeoutMs`). */
export async function waitForStatus(
  client: Client,
  id: string,
  pred: (s: PromotionStatus) => boolean,
  timeoutMs = 60_000,
): Promise<PromotionStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await getStatus(client, id);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
