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
import { serveJwks } from '../temporal/jwks-server';
import { loadSettings } from '../temporal/settings';
import { print, printJson } from './context';
import { UsageError } from './errors';

function parsePort(flag: string, raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${flag}: expected a port 1-65535 (got "${raw}")`);
  }
  return port;
}

export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('the Temporal server on PostgreSQL, with the JWT authorizer, in the background');

  cluster
    .command('up')
    .description('build (once), set up the schemas, start the server, prepare the namespace; idempotent')
    .option('--postgres <url>', 'postgres://user:password@host:5432/temporal (required the first time)')
    .option('--port <port>', 'frontend port (default 7233, or the last one used)')
    .option('--ip <ip>', 'address the frontend listens on (default 127.0.0.1)')
    .option('--shards <n>', `history shards; fixed once the database is set up (default ${DEFAULT_HISTORY_SHARDS})`)
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
      const info = await clusterUp({
        home: settings.home,
        postgresUrl: opts.postgres,
        port: opts.port === undefined ? undefined : parsePort('--port', opts.port),
        ip: opts.ip,
        historyShards,
        namespace: settings.namespace,
        retentionDays: settings.retentionDays,
      });
      process.stderr.write(
        `strata: Temporal ${info.reused ? 'already running' : 'running'} at ${info.address} ` +
          `(pid ${info.serverPid}), namespace ${info.namespace}; workers use the token in ${info.workerTokenFile}\n`,
      );
      print(`TEMPORAL_ADDRESS=${info.address}`);
      print(`STRATA_TEMPORAL_TOKEN_FILE=${info.workerTokenFile}`);
    });

  cluster
    .command('down')
    .description('stop the server (SIGTERM, SIGKILL after 20 s); the database and keys stay')
    .action(async () => {
      const settings = loadSettings();
      const { stopped } = await clusterDown(settings.home);
      process.stderr.write(
        stopped.length > 0 ? `strata: stopped pid ${stopped.join(', ')}\n` : 'strata: no cluster was running\n',
      );
    });

  cluster
    .command('status')
    .description('is the server running, where, on which database')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const settings = loadSettings();
      const s = await clusterStatus(settings.home);
      if (opts.json) return printJson(s);
      if (s.state === 'absent') return print(`no cluster in ${clusterDir(settings.home)} (strata cluster up)`);
      print(`state       ${s.state}`);
      print(`address     ${s.address}`);
      print(`namespace   ${s.namespace}`);
      print(`postgres    ${s.postgres}`);
      print(`shards      ${s.historyShards}`);
      print(`version     ${s.version}`);
      if (s.serverPid) print(`pid         ${s.serverPid}${s.startedAt ? ` (since ${s.startedAt})` : ''}`);
      print(`log         ${s.logFile}`);
    });

  cluster
    .command('prepare')
    .description(
      'for a server started otherwise (docker-compose.yml): write the worker token, then register the namespace ' +
        'at TEMPORAL_ADDRESS as a short-lived admin signed with the key in $STRATA_HOME/cluster',
    )
    .action(async () => {
      const settings = loadSettings();
      const tokenFile = ensureServiceTokenFile(settings.home, 'worker', settings.namespace);
      await prepareClusterNamespace(settings.home, settings.address, settings);
      print(`STRATA_TEMPORAL_TOKEN_FILE=${tokenFile}`);
    });

  cluster
    .command('jwks')
    .description('serve the public key of the tokens in the foreground (what a server started otherwise fetches)')
    .option('--port <port>', 'port', '8080')
    .option('--host <ip>', 'address to listen on', '127.0.0.1')
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
    });

  cluster
    .command('token')
    .description("sign a token: people's tokens read the namespace; --service worker|api tokens write in it")
    .option('--subject <name>', "a person's name (read access)")
    .option('--service <identity>', `a service identity: ${SERVICE_IDENTITIES.join(', ')} (write access)`)
    .option('--ttl-hours <n>', "a person's token lifetime", '12')
    .action((opts) => {
      const settings = loadSettings();
      if (Boolean(opts.subject) === Boolean(opts.service)) {
        throw new UsageError('give exactly one of --subject <name> or --service <identity>');
      }
      const key = ensureSigningKey(clusterDir(settings.home));
      if (opts.service) {
        if (!SERVICE_IDENTITIES.includes(opts.service)) {
          throw new UsageError(`--service: expected one of ${SERVICE_IDENTITIES.join(', ')} (got "${opts.service}")`);
        }
        return print(serviceToken(key, opts.service as ServiceIdentity, settings.namespace));
      }
      const ttl = Number(opts.ttlHours);
      if (!Number.isFinite(ttl) || ttl <= 0 || ttl > 24 * 30) {
        throw new UsageError(`--ttl-hours: expected a number of hours in (0, 720] (got "${opts.ttlHours}")`);
      }
      try {
        print(readerToken(key, opts.subject, settings.namespace, ttl));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    });
}
