import path from 'node:path';
import type { Command } from 'commander';
import { LocalProvider } from '../providers/local';
import { ensureTemporalCli } from '../temporal/cli';
import { connect, isReachable, TemporalUnreachableError } from '../temporal/connection';
import { prepareNamespace } from '../temporal/namespace';
import { type DevServer, startDevServer } from '../temporal/server';
import { loadSettings, type StrataSettings } from '../temporal/settings';
import { logger } from '../log/logger';
import { createStrataWorker } from '../../workers/worker';
import { RefusedError } from '../temporal/promotions';
import { UsageError } from './errors';

function parsePort(flag: string, raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`${flag}: expected a port 1-65535 (got "${raw}")`);
  return port;
}

/**
 * The embedded default: starts the Temporal dev server on $STRATA_HOME/temporal.db unless
 * TEMPORAL_ADDRESS names a server, then makes the namespace ready. Returns the server it
 * started, if any.
 */
export async function ensureServer(
  settings: StrataSettings,
  opts: { port: number; uiPort: number; reuseRunning: boolean },
): Promise<DevServer | undefined> {
  if (await isReachable(settings)) {
    if (!settings.external && !opts.reuseRunning) {
      throw new RefusedError(
        `something already answers at ${settings.address}: a Temporal server is running there; ` +
          'use it (set TEMPORAL_ADDRESS) or start on another --port',
      );
    }
    const connection = await connect(settings);
    try {
      await prepareNamespace(connection, settings.namespace, settings.retentionDays);
    } finally {
      await connection.close();
    }
    return undefined;
  }
  if (settings.external) throw new TemporalUnreachableError(settings.address);
  const cli = await ensureTemporalCli();
  const server = await startDevServer({
    cli,
    dbFile: path.join(settings.home, 'temporal.db'),
    logFile: path.join(settings.home, 'temporal.log'),
    port: opts.port,
    uiPort: opts.uiPort,
    namespace: settings.namespace,
    retentionDays: settings.retentionDays,
  });
  logger.info(
    {
      address: server.address,
      ui: server.uiUrl,
      db: path.join(settings.home, 'temporal.db'),
      retentionDays: settings.retentionDays,
    },
    'Temporal dev server running',
  );
  return server;
}

export function registerServerCommands(program: Command): void {
  program
    .command('up')
    .description('run the Temporal dev server and a worker in the foreground (Ctrl-C stops both)')
    .option('--port <port>', 'Temporal frontend port', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option('--no-worker', 'run the server alone')
    .action(async (opts) => {
      const port = parsePort('--port', opts.port);
      const uiPort = parsePort('--ui-port', opts.uiPort);
      const settings = loadSettings(process.env, { port });
      const server = await ensureServer(settings, { port, uiPort, reuseRunning: settings.external });
      if (server)
        process.stderr.write(
          `strata: Temporal at ${server.address}, Web UI ${server.uiUrl}/namespaces/${settings.namespace}/workflows\n`,
        );
      try {
        if (opts.worker) {
          const { worker, connection } = await createStrataWorker({
            address: settings.address,
            namespace: settings.namespace,
            taskQueue: settings.taskQueue,
            provider: new LocalProvider(settings.home),
            paths: settings.paths,
            token: settings.token,
          });
          logger.info({ taskQueue: settings.taskQueue, home: settings.home }, 'worker running; Ctrl-C stops');
          try {
            await worker.run(); // returns after SIGINT/SIGTERM (the SDK's runtime handles them)
          } finally {
            await connection.close();
          }
        } else if (server) {
          const stop = () => void server.stop();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          await server.exited;
        }
      } finally {
        await server?.stop();
        logger.info('stopped');
      }
    });

  program
    .command('worker')
    .description(
      'run a worker only, against TEMPORAL_ADDRESS (default 127.0.0.1:7233); start as many as you like. ' +
        'SIGTERM drains it: no new tasks, running activities get --drain-timeout to finish',
    )
    .option('--max-concurrent-activities <n>', 'activities this worker runs at once (default 100)')
    .option('--max-cached-workflows <n>', "workflows kept in this worker's cache (default: by memory)")
    .option('--drain-timeout <duration>', 'after SIGTERM, how long running activities may finish', '30s')
    .action(async (opts) => {
      const count = (flag: string, raw: string | undefined, min: number) => {
        if (raw === undefined) return undefined;
        const n = Number(raw);
        if (!Number.isInteger(n) || n < min)
          throw new UsageError(`${flag}: expected a whole number >= ${min} (got "${raw}")`);
        return n;
      };
      const maxConcurrentActivities = count('--max-concurrent-activities', opts.maxConcurrentActivities, 1);
      const maxCachedWorkflows = count('--max-cached-workflows', opts.maxCachedWorkflows, 0);
      if (!/^\d+(ms|s|m)$/.test(opts.drainTimeout)) {
        throw new UsageError(`--drain-timeout: expected a duration like 30s, 500ms or 2m (got "${opts.drainTimeout}")`);
      }
      const settings = loadSettings();
      // A patient check: a loaded machine (or a cluster still starting) may take seconds to answer.
      if (!(await isReachable(settings, '10s'))) throw new TemporalUnreachableError(settings.address);
      const { runWorker } = await import('../../workers/main');
      await runWorker({ maxConcurrentActivities, maxCachedWorkflows, drainTimeout: opts.drainTimeout });
    });
}
