import path from 'node:path';
import type { Command } from 'commander';
import { localProvider } from './lazy';
import { ensureTemporalCli } from '../temporal/cli';
import { connect, isReachable, TemporalUnreachableError } from '../temporal/connection';
import { prepareNamespace } from '../temporal/namespace';
import { type DevServer, startDevServer } from '../temporal/server';
import { HTTP_API_PORT_OFFSET, loadSettings, type StrataSettings } from '../temporal/settings';
import { portFree } from '../tools/ports';
import { logger } from '../log/logger';
import { RefusedError } from '../temporal/promotions';
import { command } from './command';
import { parsePort } from './values';
import { EXIT_OK, UsageError } from './errors';

/** Milliseconds, seconds or minutes, as Temporal's durations spell them. */
function isDrainTimeout(raw: string): raw is `${number}${'ms' | 's' | 'm'}` {
  return /^\d+(ms|s|m)$/.test(raw);
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
  // The HTTP API where the CLI's settings look for it (`strata status` reads it); if that port is
  // taken, the server picks one and the CLI reads through gRPC.
  const httpPort = opts.port + HTTP_API_PORT_OFFSET;
  const server = await startDevServer({
    cli,
    dbFile: path.join(settings.home, 'temporal.db'),
    logFile: path.join(settings.home, 'temporal.log'),
    port: opts.port,
    uiPort: opts.uiPort,
    ...(httpPort <= 65535 && httpPort !== opts.uiPort && (await portFree(httpPort)) ? { httpPort } : {}),
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

/** The options of `strata up` and `strata worker`. */
export interface ServerOptions {
  up: {
    /** The Temporal frontend's port, 1-65535. @default "7233" */
    port: string;
    /** The Temporal Web UI's port, 1-65535. @default "8233" */
    uiPort: string;
    /** Run a worker beside the server (`--no-worker`: the server alone). @default true */
    worker: boolean;
  };
  worker: {
    /** Activities this worker runs at once; a whole number ≥ 1. @default 100 (the SDK's) */
    maxConcurrentActivities?: string;
    /** Workflows kept in this worker's cache; a whole number ≥ 0. @default by memory (the SDK's) */
    maxCachedWorkflows?: string;
    /** After SIGTERM, how long running activities may finish: 500ms, 30s or 2m. @default "30s" */
    drainTimeout: string;
    /** Serve Prometheus metrics (Strata's and the Core SDK's) at /metrics on this port, 1-65535. */
    metricsPort?: string;
  };
}

export function registerServerCommands(program: Command): void {
  command(program, 'up', 'run the Temporal dev server and a worker in the foreground (Ctrl-C stops both)')
    .options<ServerOptions['up']>({
      port: { argument: '<port>', description: 'Temporal frontend port', default: '7233' },
      uiPort: { argument: '<port>', description: 'Temporal Web UI port', default: '8233' },
      worker: { description: 'run the server alone', negatable: true },
    })
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
          const { createStrataWorker, ensureDailyAuditExport } = await import('../../workers/worker');
          const { worker, connection, client } = await createStrataWorker({
            address: settings.address,
            namespace: settings.namespace,
            taskQueue: settings.taskQueue,
            provider: await localProvider(settings.home),
            paths: settings.paths,
            token: settings.token,
          });
          await ensureDailyAuditExport(client, settings.taskQueue);
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
      return EXIT_OK;
    });

  command(
    program,
    'worker',
    'run a worker only, against TEMPORAL_ADDRESS (default 127.0.0.1:7233); start as many as you like. ' +
      'SIGTERM drains it: no new tasks, running activities get --drain-timeout to finish',
  )
    .options<ServerOptions['worker']>({
      maxConcurrentActivities: {
        argument: '<n>',
        description: 'activities this worker runs at once (default 100)',
      },
      maxCachedWorkflows: {
        argument: '<n>',
        description: "workflows kept in this worker's cache; the least recently used are evicted (default 600)",
      },
      drainTimeout: {
        argument: '<duration>',
        description: 'after SIGTERM, how long running activities may finish',
        default: '30s',
      },
      metricsPort: {
        argument: '<port>',
        description: "serve Prometheus metrics (Strata's and the Temporal SDK's) at http://0.0.0.0:<port>/metrics",
      },
    })
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
      const metricsPort = count('--metrics-port', opts.metricsPort, 1);
      if (metricsPort !== undefined && metricsPort > 65535)
        throw new UsageError(`--metrics-port: expected a port 1-65535 (got "${opts.metricsPort}")`);
      const drainTimeout = opts.drainTimeout;
      if (!isDrainTimeout(drainTimeout)) {
        throw new UsageError(`--drain-timeout: expected a duration like 30s, 500ms or 2m (got "${drainTimeout}")`);
      }
      const settings = loadSettings();
      // A patient check: a loaded machine (or a cluster still starting) may take seconds to answer.
      if (!(await isReachable(settings, '10s'))) throw new TemporalUnreachableError(settings.address);
      const { runWorker } = await import('../../workers/main');
      await runWorker({ maxConcurrentActivities, maxCachedWorkflows, drainTimeout, metricsPort });
      return EXIT_OK;
    });
}
