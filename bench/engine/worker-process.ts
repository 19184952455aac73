// The Strata worker of the engine bench's parked part, in a process of its own, as `strata worker`
// runs one: so the RSS the bench reports is the worker's alone, not the bench's client, the
// baseline's worker and the CLI timings beside it. Started by bench/engine.ts with
// `tsx bench/engine/worker-process.ts ADDRESS NAMESPACE TASK_QUEUE`; prints `ready` once it polls,
// and shuts down on SIGTERM.

import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { installRuntime } from '../../workers/worker';
import { bundle, createEngineWorker } from './worker';

async function main(): Promise<void> {
  const [address, namespace, taskQueue] = process.argv.slice(2);
  if (!address || !namespace || !taskQueue) {
    console.error('usage: worker-process.ts ADDRESS NAMESPACE TASK_QUEUE');
    process.exit(2);
  }
  installRuntime();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const native = await NativeConnection.connect({ address });
  const worker = await createEngineWorker({
    kind: 'strata',
    connection: native,
    client,
    namespace,
    taskQueue,
    bundle: await bundle('strata'),
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  console.log('ready');
  await running;
  await native.close();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
