import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { prepareNamespace } from './namespace';

export interface DevServerOptions {
  cli: string;
  /** SQLite file; kept across restarts. */
  dbFile: string;
  ip?: string;
  port: number;
  uiPort: number;
  /**
   * The frontend's HTTP API port (Temporal's JSON API, which `strata status` reads when it can:
   * src/temporal/http-api.ts). Unset, the dev server picks a free one nobody is told of.
   */
  httpPort?: number;
  headless?: boolean;
  namespace: string;
  retentionDays: number;
  /** Server output goes here (appended). */
  logFile: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
  /** Resolves when the server process exits. */
  exited: Promise<number | null>;
}

export class DevServerError extends Error {
  override name = 'DevServerError';
}

/**
 * Starts `temporal server start-dev` on a persistent SQLite file and waits until the frontend
 * answers, then prepares Strata's namespace (retention, search attributes). The process stays
 * attached to this one: stop() (or this process ending) stops it.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    ip,
    '--port',
    String(opts.port),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
  ];
  if (opts.httpPort !== undefined) args.push('--http-port', String(opts.httpPort));
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  const child: ChildProcess = spawn(opts.cli, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c === null ? -1 : c));

  const address = `${ip}:${opts.port}`;
  const deadline = Date.now() + 60_000;
  let connection: Connection | undefined;
  while (!connection) {
    if (exitCode !== undefined) {
      throw new DevServerError(
        `the Temporal dev server exited (code ${exitCode}) before it was ready; ` +
          `is port ${opts.port} or ${opts.uiPort} already in use? Last lines of ${opts.logFile}:\n${tail(opts.logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new DevServerError(`the Temporal dev server did not answer at ${address} within 60s; see ${opts.logFile}`);
    }
    try {
      connection = await Connection.connect({ address, connectTimeout: '1s' });
      await connection.workflowService.getSystemInfo({});
    } catch {
      connection = undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    await prepareNamespace(connection, opts.namespace, opts.retentionDays);
  } finally {
    await connection.close();
  }

  const stop = async () => {
    if (exitCode !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { address, uiUrl: opts.headless ? null : `http://${ip}:${opts.uiPort}`, pid: child.pid!, stop, exited };
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
