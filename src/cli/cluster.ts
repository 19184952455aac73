import path from 'node:path';
import type { Command } from 'commander';
import {
  ensureSigningKey,
  readerToken,
  SERVICE_IDENTITIES,
  type ServiceIdentity,
  serviceToken,
} from '../temporal/auth';
import { parsePostgresUrl } from '../temporal/cluster-config';
import {
  clusterDir,
  clusterDown,
  clusterStatus,
  clusterUp,
  DEFAULT_HISTORY_SHARDS,
  ensureServiceTokenFile,
  prepareClusterNamespace,
} from '../temporal/cluster';
import { uiPathFor } from '../temporal/cluster-ui';
import { serveJwks } from '../temporal/jwks-server';
import { loadSettings } from '../temporal/settings';
import { command, type JsonOption } from './command';
import { print, printJson } from './context';
import { EXIT_OK, UsageError } from './errors';
import { parsePort } from './values';

/** The options of the cluster commands: up, down, status, prepare, jwks and token. */
export interface ClusterOptions {
  up: {
    /** postgres://user:password@host:5432/temporal; required the first time. */
    postgres?: string;
    /** The frontend's port, 1-65535. @default 7233, or the last one used */
    port?: string;
    /** The address the frontend listens on. @default 127.0.0.1 */
    ip?: string;
    /** History shards, 4-16384; fixed once the database is set up. @default DEFAULT_HISTORY_SHARDS */
    shards?: string;
    /**
     * Run the Temporal Web UI server (read-only, no token of its own) on this port of 127.0.0.1, for
     * `strata serve --temporal-ui`, 1-65535. @default none, or the last one used
     */
    uiPort?: string;
    /** `--no-ui`: stop the Web UI server and forget its port. @default true */
    ui: boolean;
  };
  down: Record<never, never>;
  status: JsonOption;
  prepare: Record<never, never>;
  jwks: {
    /** The port to serve on, 1-65535. @default "8080" */
    port: string;
    /** The address to listen on. @default "127.0.0.1" */
    host: string;
  };
  token: {
    /** A person's name: a token that reads the namespace (exactly one of subject and service). */
    subject?: string;
    /** A service identity (SERVICE_IDENTITIES): a token that writes in it. */
    service?: string;
    /** A person's token lifetime in hours, in (0, 720]. @default "12" */
    ttlHours: string;
  };
}

export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('the Temporal server on PostgreSQL, with the JWT authorizer, in the background');

  command(cluster, 'up', 'build (once), set up the schemas, start the server, prepare the namespace; idempotent')
    .options<ClusterOptions['up']>({
      postgres: {
        argument: '<url>',
        description: 'postgres://user:password@host:5432/temporal (required the first time)',
      },
      port: { argument: '<port>', description: 'frontend port (default 7233, or the last one used)' },
      ip: { argument: '<ip>', description: 'address the frontend listens on (default 127.0.0.1)' },
      shards: {
        argument: '<n>',
        description: `history shards; fixed once the database is set up (default ${DEFAULT_HISTORY_SHARDS})`,
      },
      uiPort: {
        argument: '<port>',
        description:
          'also run the Temporal Web UI server (read-only) on this port of 127.0.0.1, ' +
          'opened through `strata serve --temporal-ui` (default: none, or the last one used)',
      },
      ui: { description: 'stop the Web UI server and forget its port', negatable: true },
    })
    .action(async (opts) => {
      const settings = loadSettings();
      if (opts.postgres !== undefined) {
        try {
          parsePostgresUrl(opts.postgres);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      let historyShards: number | undefined;
      if (opts.shards !== undefined) {
        historyShards = Number(opts.shards);
        if (!Number.isInteger(historyShards) || historyShards < 4 || historyShards > 16384) {
          throw new UsageError(`--shards: expected a whole number 4-16384 (got "${opts.shards}")`);
        }
      }
      if (!opts.ui && opts.uiPort !== undefined) throw new UsageError('give --ui-port <port> or --no-ui, not both');
      const info = await clusterUp({
        home: settings.home,
        postgresUrl: opts.postgres,
        port: opts.port === undefined ? undefined : parsePort('--port', opts.port),
        ip: opts.ip,
        historyShards,
        namespace: settings.namespace,
        retentionDays: settings.retentionDays,
        ...(!opts.ui
          ? { uiPort: false as const }
          : opts.uiPort !== undefined
            ? { uiPort: parsePort('--ui-port', opts.uiPort) }
            : {}),
      });
      process.stderr.write(
        `strata: Temporal ${info.reused ? 'already running' : 'running'} at ${info.address} ` +
          `(pid ${info.serverPid}), namespace ${info.namespace}; workers use the token in ${info.workerTokenFile}\n`,
      );
      if (info.ui) {
        process.stderr.write(
          `strata: Temporal Web UI server ${info.ui.reused ? 'already running' : 'running'} at ${info.ui.url} ` +
            `(pid ${info.ui.pid}); it holds no token and answers nobody directly. Open it signed in, read-only, ` +
            `through \`strata serve --temporal-ui ${info.ui.url}\` at <serve address>${uiPathFor(info.namespace)}\n`,
        );
      }
      print(`TEMPORAL_ADDRESS=${info.address}`);
      print(`STRATA_TEMPORAL_HTTP=${info.httpApi}`);
      print(`STRATA_TEMPORAL_TOKEN_FILE=${info.workerTokenFile}`);
      return EXIT_OK;
    });

  command(
    cluster,
    'down',
    'stop the server and its Web UI server (SIGTERM, SIGKILL after 20 s); the database and keys stay',
  )
    .options<ClusterOptions['down']>({})
    .action(async () => {
      const settings = loadSettings();
      const { stopped } = await clusterDown(settings.home);
      process.stderr.write(
        stopped.length > 0 ? `strata: stopped pid ${stopped.join(', ')}\n` : 'strata: no cluster was running\n',
      );
      return EXIT_OK;
    });

  command(cluster, 'status', 'is the server running, where, on which database')
    .options<ClusterOptions['status']>({ json: { description: 'print JSON' } })
    .action(async (opts) => {
      const settings = loadSettings();
      const s = await clusterStatus(settings.home);
      if (opts.json) {
        printJson(s);
        return EXIT_OK;
      }
      if (s.state === 'absent') {
        print(`no cluster in ${clusterDir(settings.home)} (strata cluster up)`);
        return EXIT_OK;
      }
      print(`state       ${s.state}`);
      print(`address     ${s.address}`);
      print(`namespace   ${s.namespace}`);
      print(`postgres    ${s.postgres}`);
      print(`shards      ${s.historyShards}`);
      print(`version     ${s.version}`);
      if (s.serverPid) print(`pid         ${s.serverPid}${s.startedAt ? ` (since ${s.startedAt})` : ''}`);
      print(`log         ${s.logFile}`);
      if (s.ui) {
        const since = s.ui.startedAt ? ` since ${s.ui.startedAt}` : '';
        print(
          `web ui      ${s.ui.state} ${s.ui.url} (v${s.ui.version}${s.ui.pid ? `, pid ${s.ui.pid}${since}` : ''}); ` +
            `open through strata serve --temporal-ui ${s.ui.url}`,
        );
      }
      return EXIT_OK;
    });

  command(
    cluster,
    'prepare',
    'for a server started otherwise (docker-compose.yml): write the worker token, then register the namespace ' +
      'at TEMPORAL_ADDRESS as a short-lived admin signed with the key in $STRATA_HOME/cluster',
  )
    .options<ClusterOptions['prepare']>({})
    .action(async () => {
      const settings = loadSettings();
      const tokenFile = ensureServiceTokenFile(settings.home, 'worker', settings.namespace);
      await prepareClusterNamespace(settings.home, settings.address, settings);
      print(`STRATA_TEMPORAL_TOKEN_FILE=${tokenFile}`);
      return EXIT_OK;
    });

  command(
    cluster,
    'jwks',
    'serve the public key of the tokens in the foreground (what a server started otherwise fetches)',
  )
    .options<ClusterOptions['jwks']>({
      port: { argument: '<port>', description: 'port', default: '8080' },
      host: { argument: '<ip>', description: 'address to listen on', default: '127.0.0.1' },
    })
    .action(async (opts) => {
      const settings = loadSettings();
      const port = parsePort('--port', opts.port);
      const dir = clusterDir(settings.home);
      ensureSigningKey(dir);
      const server = await serveJwks(path.join(dir, 'jwks.json'), port, opts.host);
      process.stderr.write(`strata: JWKS at http://${opts.host}:${port}/jwks.json; Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return EXIT_OK;
    });

  command(cluster, 'token', "sign a token: people's tokens read the namespace; --service worker|api tokens write in it")
    .options<ClusterOptions['token']>({
      subject: { argument: '<name>', description: "a person's name (read access)" },
      service: {
        argument: '<identity>',
        description: `a service identity: ${SERVICE_IDENTITIES.join(', ')} (write access)`,
      },
      ttlHours: { argument: '<n>', description: "a person's token lifetime", default: '12' },
    })
    .action((opts) => {
      const settings = loadSettings();
      if (Boolean(opts.subject) === Boolean(opts.service)) {
        throw new UsageError('give exactly one of --subject <name> or --service <identity>');
      }
      const key = ensureSigningKey(clusterDir(settings.home));
      const service = opts.service;
      if (service !== undefined) {
        if (!isServiceIdentity(service)) {
          throw new UsageError(`--service: expected one of ${SERVICE_IDENTITIES.join(', ')} (got "${service}")`);
        }
        print(serviceToken(key, service, settings.namespace));
        return EXIT_OK;
      }
      const ttl = Number(opts.ttlHours);
      if (!Number.isFinite(ttl) || ttl <= 0 || ttl > 24 * 30) {
        throw new UsageError(`--ttl-hours: expected a number of hours in (0, 720] (got "${opts.ttlHours}")`);
      }
      try {
        print(readerToken(key, opts.subject!, settings.namespace, ttl));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      return EXIT_OK;
    });
}

function isServiceIdentity(raw: string): raw is ServiceIdentity {
  return (SERVICE_IDENTITIES as readonly string[]).includes(raw);
}
