import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';
import { LocalProvider } from '../../src/providers/local';
import { createStrataWorker } from '../../workers/worker';

export const ROOT = path.resolve(__dirname, '../..');
export const EXAMPLES = path.join(ROOT, 'examples');

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function connectTestClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, namespace: inject('namespace') }), connection };
}

export function tempHome(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
}

/** A unique task queue per test file keeps workers with different homes apart. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A real worker in this process, on its own task queue and STRATA_HOME; stop() shuts it down. */
export async function startTestWorker(opts: { home: string; taskQueue: string; bundle: WorkflowBundle }) {
  const provider = new LocalProvider(opts.home);
  const { worker, connection } = await createStrataWorker({
    address: temporalAddress(),
    namespace: inject('namespace'),
    taskQueue: opts.taskQueue,
    provider,
    bundle: opts.bundle,
  });
  const running = worker.run();
  return {
    provider,
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
  fs.rmSync(home, { recursive: true, force: true });
}
