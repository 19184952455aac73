// A worker process on its own: `strata worker`, or `tsx workers/main.ts`. Uses TEMPORAL_ADDRESS
// (default 127.0.0.1:7233), STRATA_HOME for the local provider, and stops on SIGINT/SIGTERM.
import { LocalProvider } from '../src/providers/local';
import { loadSettings } from '../src/temporal/settings';
import { logger } from '../src/log/logger';
import { createStrataWorker } from './worker';

export async function runWorker(): Promise<void> {
  const settings = loadSettings();
  const provider = new LocalProvider(settings.home);
  const { worker, connection } = await createStrataWorker({
    address: settings.address,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    provider,
    paths: settings.paths,
  });
  logger.info(
    { address: settings.address, namespace: settings.namespace, taskQueue: settings.taskQueue, home: settings.home },
    'worker running',
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorker().catch((err) => {
    logger.error({ err }, 'worker failed');
    process.exit(1);
  });
}
