// A worker process on its own: `strata worker`, or `tsx workers/main.ts`. Uses TEMPORAL_ADDRESS
// (default 127.0.0.1:7233), STRATA_HOME for the local provider, STRATA_TEMPORAL_TOKEN(_FILE) on a
// cluster with the JWT authorizer. SIGINT/SIGTERM drain it: it stops polling at once, lets running
// activities finish for up to the drain timeout, then exits; Temporal hands the rest to other workers.
import type { Duration } from '@temporalio/common';
import { LocalProvider } from '../src/providers/local';
import { reapOrphanedProcesses } from '../src/providers/orphans';
import { loadSettings } from '../src/temporal/settings';
import { logger } from '../src/log/logger';
import { createStrataWorker, ensureDailyAuditExport } from './worker';

export interface WorkerRunOptions {
  maxConcurrentActivities?: number;
  maxCachedWorkflows?: number;
  /** How long running activities may finish after SIGTERM (default 30 s). */
  drainTimeout?: Duration;
  /** Serve /metrics on this port (STRATA_METRICS_PORT); none when unset. */
  metricsPort?: number;
}

/** Options from the environment, for `node workers/main.ts` (the CLI passes its flags instead). */
function optionsFromEnv(env: NodeJS.ProcessEnv): WorkerRunOptions {
  const num = (raw: string | undefined) => (raw ? Number(raw) : undefined);
  return {
    maxConcurrentActivities: num(env.STRATA_MAX_CONCURRENT_ACTIVITIES),
    maxCachedWorkflows: num(env.STRATA_MAX_CACHED_WORKFLOWS),
    drainTimeout: env.STRATA_DRAIN_TIMEOUT as Duration | undefined,
    metricsPort: num(env.STRATA_METRICS_PORT),
  };
}

export async function runWorker(opts: WorkerRunOptions = optionsFromEnv(process.env)): Promise<void> {
  const settings = loadSettings();
  const provider = new LocalProvider(settings.home);
  const { worker, connection, client, metrics } = await createStrataWorker({
    address: settings.address,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    provider,
    paths: settings.paths,
    token: settings.token,
    maxConcurrentActivities: opts.maxConcurrentActivities,
    maxCachedWorkflows: opts.maxCachedWorkflows,
    shutdownGraceTime: opts.drainTimeout ?? '30s',
    metricsPort: opts.metricsPort,
    coreMetricsAddress: process.env.STRATA_CORE_METRICS_ADDRESS,
  });
  await ensureDailyAuditExport(client, settings.taskQueue);
  // Environments of this home removed without a teardown leave processes nobody would stop.
  const reaped = await reapOrphanedProcesses({ under: settings.home });
  if (reaped.length)
    logger.warn(
      { processes: reaped.map((p) => ({ pid: p.pid, role: p.role, dir: p.dir })) },
      'stopped processes of environments whose directory is gone',
    );
  // The SDK's runtime turns SIGINT/SIGTERM into worker.shutdown(); this only says so.
  const draining = (signal: string) => logger.info({ signal }, 'worker draining');
  process.once('SIGTERM', draining);
  process.once('SIGINT', draining);
  logger.info(
    {
      address: settings.address,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      home: settings.home,
      maxConcurrentActivities: opts.maxConcurrentActivities,
      maxCachedWorkflows: opts.maxCachedWorkflows,
      metrics: metrics?.url,
    },
    'worker running',
  );
  try {
    await worker.run();
    logger.info('worker stopped');
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
